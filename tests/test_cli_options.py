"""The command line explains itself: help on every option, defaults, --version, and a quiet --quiet."""

import argparse
import json
import re
import subprocess
import sys
from importlib.metadata import version
from unittest import mock

import pytest

from hepml_coffea.cli import build_parser, main
from hepml_coffea.data import cms_file
from hepml_coffea.errors import FilesetError
from hepml_coffea.executors import EXECUTORS
from hepml_coffea.filesets import normalise_fileset


def _declared_options() -> dict[str, list[argparse.Action]]:
    """Every option each command declares, keyed by command name ("hepml-coffea" for the top
    level), recorded through argparse's public ``add_argument`` while the parser is built."""
    declared: dict[str, list[argparse.Action]] = {}
    original = argparse.ArgumentParser.add_argument

    def recording(parser, *args, **kwargs):
        action = original(parser, *args, **kwargs)
        name = parser.prog.removeprefix("hepml-coffea ") if " " in parser.prog else parser.prog
        options = declared.setdefault(name, [])  # every command adds --help: none is missed
        if action.option_strings != ["-h", "--help"]:
            options.append(action)
        return action

    with mock.patch.object(argparse.ArgumentParser, "add_argument", recording):
        build_parser()
    return declared


COMMANDS = sorted(name for name in _declared_options() if name != "hepml-coffea")


def _help(capsys, *command: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_every_option_of_every_command_has_help():
    missing = [
        f"{name} {'/'.join(a.option_strings) or a.dest}"
        for name, options in _declared_options().items()
        for a in options
        if not a.help
    ]
    assert not missing, f"options without help: {missing}"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_defaults_and_no_rst_markup(capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: defaults are not wrapped apart
    text = _help(capsys, command)
    assert "``" not in text
    for action in _declared_options()[command]:
        if action.default not in (None, False):
            assert f"(default: {action.default})" in text, action.option_strings


def test_top_level_help_lists_every_command_in_plain_text(capsys):
    text = _help(capsys)
    assert "``" not in text
    for name in COMMANDS:
        assert re.search(rf"^  {re.escape(name)} +\S", text, re.MULTILINE), name


def test_run_help_describes_the_fileset_and_its_examples_are_accepted(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    examples = [
        json.loads(line) for line in _help(capsys, "run").splitlines() if line.startswith("  {")
    ]
    assert len(examples) == 2
    assert examples[0] == {
        "ttbar": {"files": {"ttbar.root": "Events"}, "metadata": {"xsec": 831.8}}
    }
    for example in examples:  # the format is accepted; only the example files are missing here
        with pytest.raises(FilesetError, match="missing file"):
            normalise_fileset(example)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"hepml-coffea {version('hepml-coffea')}\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--plugins", "cutbased", "--signal", "URL", "--background", "b.root"],
        ["train", "--plugin", "pfn", "--signal", "s.root", "--background", "URL"],
        ["train", "--plugin", "pumml", "--samples", "URL"],
        ["evaluate-anomaly", "--qcd", "URL", "--top", "t.root", "--output-dir", "out"],
    ],
)
def test_commands_that_read_whole_samples_refuse_a_url(capsys, argv):
    url = "root://eospublic.cern.ch//eos/opendata/cms/qcd.root"
    with pytest.raises(SystemExit) as exit_info:
        main([url if arg == "URL" else arg for arg in argv])
    assert exit_info.value.code == 2
    assert f"{url} is a URL, and this command reads local files" in capsys.readouterr().err


PROGRESS_TEXT = (
    "Preprocessing",
    "Processing",
    "Merging",
    "━",
    "file/s",
    "chunk/s",
    "Performed attempt",
    "coffea.dataset_tools",
)


def _run_cli(tmp_path, *options: str) -> str:
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": {"files": {str(cms_file("pfnano")): "Events"}}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hepml_coffea.cli",
            "run",
            "--fileset",
            str(fileset),
            "--plugins",
            "cutbased",
            "--output",
            str(tmp_path / "out.coffea"),
            "--chunksize",
            "4",
            "--workers",
            "1",
            *options,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "cms: events 10" in result.stdout
    return result.stdout + result.stderr


def test_run_shows_progress_by_default(tmp_path):
    output = _run_cli(tmp_path)
    assert "Processing" in output and "━" in output


@pytest.mark.parametrize("executor", EXECUTORS)
def test_quiet_run_prints_no_progress(tmp_path, executor):
    output = _run_cli(tmp_path, "--executor", executor, "--quiet")
    assert not [text for text in PROGRESS_TEXT if text in output], output
