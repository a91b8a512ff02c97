"""TensorFlow's start-up log is held to TF_CPP_MIN_LOG_LEVEL, and the command runs at 2 by default."""

import json
import logging
import os
import subprocess
import sys

import pytest

from hepml_coffea.tensorflow_log import kept_lines, min_log_level

#: what TensorFlow 2.21 writes while Keras imports, whatever the level, plus an error and a
#: Python warning that must survive
IMPORT_LOG = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796278490.546784    8115 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1796278490.578855    8115 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.
W1203 06:00:00.000000    8115 cuda.cc:1] no GPU found
E1203 06:00:00.000000    8115 loader.cc:2] could not load libfoo.so
/site-packages/keras/x.py:3: UserWarning: something a user should see
"""


def test_info_lines_and_their_continuations_are_dropped_from_level_1():
    kept = kept_lines(IMPORT_LOG, 1)
    assert "absl::InitializeLog" not in kept
    assert "oneDNN" not in kept and "To enable the following" not in kept
    assert "no GPU found" in kept and "libfoo" in kept and "UserWarning" in kept


def test_level_2_keeps_errors_and_python_warnings_only():
    assert kept_lines(IMPORT_LOG, 2).splitlines() == IMPORT_LOG.splitlines()[-2:]


def test_level_3_keeps_what_is_not_tensorflow_log():
    assert kept_lines(IMPORT_LOG, 3).splitlines() == IMPORT_LOG.splitlines()[-1:]


@pytest.mark.parametrize(("value", "level"), [(None, 0), ("2", 2), ("3", 3), ("loud", 0)])
def test_min_log_level_reads_the_environment(monkeypatch, value, level):
    if value is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", value)
    assert min_log_level() == level


def _environment(level: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return env if level is None else {**env, "TF_CPP_MIN_LOG_LEVEL": level}


def test_import_keras_at_level_2_is_silent_and_sets_the_python_logger():
    code = (
        "import logging; from hepml_coffea.tensorflow_log import import_keras; import_keras(); "
        "print(logging.getLogger('tensorflow').level)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_environment("2"),
        check=True,
    )
    assert result.stderr == ""
    assert result.stdout.strip() == str(logging.ERROR)


def _quiet_run(tmp_path, sample, level: str | None) -> subprocess.CompletedProcess:
    """``hepml-coffea run --quiet`` of a Keras tagger in worker processes (futures executor)."""
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"qcd": {"files": [str(sample)]}}))
    command = [sys.executable, "-m", "hepml_coffea.cli", "run", "--fileset", str(fileset)]
    command += ["--plugins", "pfn", "--output", str(tmp_path / "out.coffea"), "--quiet"]
    command += ["--executor", "futures", "--workers", "1"]
    return subprocess.run(
        command, capture_output=True, text=True, env=_environment(level), check=True
    )


def test_a_quiet_run_writes_nothing_to_stderr(tmp_path, generated_ttbar_qcd):
    result = _quiet_run(tmp_path, generated_ttbar_qcd[1], level=None)  # a user's shell sets none
    assert "qcd: events 400" in result.stdout
    assert result.stderr == ""


def test_a_level_the_user_chose_is_kept(tmp_path, generated_ttbar_qcd):
    assert "oneDNN custom operations" in _quiet_run(tmp_path, generated_ttbar_qcd[1], "0").stderr
