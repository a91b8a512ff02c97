"""The command line prints our errors as one line with exit code 2, and lets every other error (a bug)
raise with its traceback."""

import json
import subprocess
import sys

import pytest

from hepml_coffea import HepmlCoffeaError, Output, Plugin, cli, registry
from hepml_coffea.data import cms_file
from hepml_coffea.errors import InputFileError, MissingBranchError, our_error
from hepml_coffea.features import top_window_features


def _one_line_error(capsys, argv: list[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_unknown_plugin_is_one_line(capsys):
    err = _one_line_error(
        capsys,
        ["evaluate", "--plugins", "no_such_tagger", "--signal", "s.root", "--background", "b.root"],
    )
    assert err.startswith(
        "hepml-coffea evaluate: error: no hepml-coffea plugin called 'no_such_tagger'"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist; give the path of a fileset JSON file"),
        ("{ not json", "is not valid JSON"),
        ("[]", "must map dataset names to files"),
    ],
)
def test_a_bad_fileset_is_one_line(tmp_path, capsys, content, message):
    fileset = tmp_path / "fileset.json"
    if content is not None:
        fileset.write_text(content)
    err = _one_line_error(capsys, ["run", "--fileset", str(fileset), "--plugins", "cutbased"])
    assert err.startswith(
        f"hepml-coffea run: error: {'fileset ' if content != '[]' else ''}{fileset}"
    )
    assert message in err


def test_a_missing_run_output_is_one_line(tmp_path, capsys):
    err = _one_line_error(capsys, ["check-decorrelation", str(tmp_path / "none.coffea")])
    assert f"{tmp_path / 'none.coffea'} does not exist; write it with `hepml-coffea run`" in err


def test_a_bad_plugin_kind_is_one_line(capsys, monkeypatch):
    def plugins_with_a_bad_kind():
        Plugin(
            name="mine",
            kind="Regressor!",
            collection="FatJet",
            required_branches=("FatJet_pt",),
            outputs=(Output("top"),),
            features=top_window_features,
        )

    # `hepml-coffea plugins` starts by asking the registry for the plugins
    monkeypatch.setattr(registry, "get_registry", plugins_with_a_bad_kind)
    err = _one_line_error(capsys, ["plugins"])
    assert "plugin 'mine': kind 'Regressor!' is not a kind name; use one of 'tagger'" in err


def test_our_error_behind_a_wrapper_is_one_line(capsys, monkeypatch):
    """coffea's executors wrap a worker's error in a plain Exception; the cause is what is printed."""

    def wrapped():
        try:
            raise HepmlCoffeaError("the real reason; do this")
        except HepmlCoffeaError as exc:
            raise Exception("worker failed") from exc

    monkeypatch.setattr(registry, "get_registry", wrapped)
    assert (
        _one_line_error(capsys, ["plugins"])
        == "hepml-coffea plugins: error: the real reason; do this\n"
    )


def _as_from_a_futures_worker(error: Exception) -> Exception:
    """``error`` wrapped as coffea's Runner wraps a chunk's error, as it reaches the client from
    a loky worker process: without its cause, which plain pickling drops."""
    return Exception(f"Failed processing file: WorkItem(...). The error was: {error!r}.")


@pytest.mark.parametrize(
    "error",
    [
        InputFileError("/data/a (1).root", "could not be read at entries 0-5 (it's 'zeroed')"),
        MissingBranchError("plugin 'pumml' needs branch(es) ['PFCands_fromPV'], missing"),
    ],
)
def test_our_error_from_a_futures_worker_is_rebuilt_from_its_repr(error):
    rebuilt = our_error(_as_from_a_futures_worker(error))
    assert type(rebuilt) is type(error) and str(rebuilt) == str(error)
    if isinstance(error, InputFileError):
        assert (rebuilt.path, rebuilt.problem) == (error.path, error.problem)


def test_a_worker_error_that_is_not_ours_is_not_rebuilt():
    assert our_error(_as_from_a_futures_worker(ValueError("a bug"))) is None
    assert our_error(Exception("... The error was: InputFileError(open('x')).")) is None


@pytest.mark.parametrize(
    "bug",
    [
        ValueError("a bug, not the user's doing"),
        FileNotFoundError("internal.json"),
        ZeroDivisionError("division by zero"),
    ],
)
def test_a_bug_keeps_its_traceback(capsys, monkeypatch, bug):
    def broken():
        raise bug

    monkeypatch.setattr(registry, "get_registry", broken)
    with pytest.raises(type(bug)) as raised:
        cli.main(["plugins"])
    assert raised.value is bug
    assert capsys.readouterr().err == ""


def test_a_bug_prints_a_traceback_from_the_command():
    code = (
        "import sys, hepml_coffea.cli as cli, hepml_coffea.registry as registry\n"
        "registry.get_registry = lambda: 1 / 0\nsys.exit(cli.main(['plugins']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert (
        "Traceback (most recent call last)" in result.stderr
        and "ZeroDivisionError" in result.stderr
    )


def test_a_dataset_without_files_is_one_line(tmp_path, capsys):
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": {"files": {}}}))
    err = _one_line_error(capsys, ["run", "--fileset", str(fileset), "--plugins", "cutbased"])
    assert "dataset 'cms' lists no files" in err


@pytest.fixture
def one_file_fileset(tmp_path):
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": [str(cms_file("pfnano"))]}))
    return str(fileset)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--chunksize", "0"], "argument --chunksize: 0 is not a positive number"),
        (["--workers", "-1", "--executor", "dask"], "argument --workers: -1 is not a positive"),
        (["--output", "."], "--output . is a folder; give a file, e.g. out.coffea"),
        (["--output", "/proc/no/out.coffea"], "--output /proc/no/out.coffea: its folder cannot"),
        (
            ["--executor", "dask", "--scheduler", "nowhere"],
            "'nowhere' is no scheduler address (missing port number",
        ),
    ],
)
def test_bad_run_options_are_one_line_before_any_work(one_file_fileset, capsys, options, message):
    argv = ["run", "--fileset", one_file_fileset, "--plugins", "cutbased", *options]
    if options[0] in ("--chunksize", "--workers"):  # argparse: usage, then the error
        with pytest.raises(SystemExit):
            cli.main(argv)
        err = capsys.readouterr().err
    else:
        err = _one_line_error(capsys, argv)
    assert message in err and "Traceback" not in err, err


def test_a_scheduler_that_does_not_answer_is_one_line(one_file_fileset, capsys, monkeypatch):
    from hepml_coffea.executors import dask_run

    monkeypatch.setattr(dask_run, "SCHEDULER_TIMEOUT", "1s")
    argv = ["run", "--fileset", one_file_fileset, "--plugins", "cutbased", "--executor", "dask"]
    err = _one_line_error(capsys, [*argv, "--scheduler", "tcp://127.0.0.1:9"])
    assert "no dask scheduler answered at tcp://127.0.0.1:9 within 1s" in err


def test_a_folder_or_a_non_ascii_name_as_fileset_is_one_line(tmp_path, capsys):
    err = _one_line_error(capsys, ["run", "--fileset", str(tmp_path), "--plugins", "cutbased"])
    assert f"fileset {tmp_path} is a folder" in err
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"top_µ": [str(cms_file("pfnano"))]}))
    err = _one_line_error(capsys, ["run", "--fileset", str(fileset), "--plugins", "cutbased"])
    assert "'top_µ' is not ASCII, and coffea's Runner" in err


@pytest.mark.parametrize("content", [b"not a coffea file", None])
def test_check_decorrelation_of_what_run_did_not_write_is_one_line(tmp_path, capsys, content):
    path = tmp_path / "other.coffea"
    if content is None:
        from coffea.util import save

        save({"a": 1}, path)
    else:
        path.write_bytes(content)
    err = _one_line_error(capsys, ["check-decorrelation", str(path), "--signal-dataset", "a"])
    assert f"{path} is not an output of `hepml-coffea run`" in err


def test_the_same_file_as_signal_and_background_is_one_line(capsys):
    path = str(cms_file("pfnano"))
    argv = ["evaluate", "--plugins", "cutbased", "--signal", path, "--background", path]
    err = _one_line_error(capsys, argv)
    assert "given as signal and as background: the background class takes every jet" in err


def test_a_missing_sample_is_named_before_any_progress_bar(tmp_path, capsys):
    missing = tmp_path / "qcd.root"
    argv = ["evaluate", "--plugins", "cutbased", "--signal", str(cms_file("pfnano"))]
    err = _one_line_error(capsys, [*argv, "--background", str(missing)])
    assert (
        err
        == f"hepml-coffea evaluate: error: {missing} does not exist or is not a file; check the path\n"
    )


def test_evaluate_of_a_pileup_regression_is_one_line(capsys):
    argv = ["evaluate", "--plugins", "puppi", "--signal", "s.root", "--background", "b.root"]
    err = _one_line_error(capsys, argv)
    assert "plugin 'puppi' is a pileup-regression, and evaluate compares the scores" in err
    assert "of 'tagger', 'anomaly-score' plugins; see `hepml-coffea evaluate-pileup`" in err


def test_evaluate_anomaly_of_a_tagger_is_one_line(capsys):
    argv = ["evaluate-anomaly", "--plugins", "cutbased", "--qcd", "q.root", "--top", "t.root"]
    argv += ["--output-dir", "out"]
    err = _one_line_error(capsys, argv)
    assert "plugin 'cutbased' is a tagger, not an anomaly score" in err
