"""Bad requests fail with a clear message before any event is generated."""

from __future__ import annotations

import argparse
import os

import pytest

from hepml_coffea import HepmlCoffeaError
from hepml_coffea.cli.generate_command import add_arguments as add_generate_arguments
from hepml_coffea.cli.generate_command import run as run_generate
from hepml_coffea.samples import SampleConfigError, generate_sample
from hepml_coffea.samples import generate as gen_mod


@pytest.fixture
def no_generation(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("an event generator was started")

    monkeypatch.setattr(gen_mod, "PythiaGenerator", forbidden)
    monkeypatch.setattr(gen_mod, "generate_job", forbidden)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"process": "higgs"}, "unknown process"),
        ({"n_events": 0}, "events must be >= 1"),
        ({"n_events": -5}, "events must be >= 1"),
        ({"n_events": 2.5}, "events must be an integer"),
        ({"pt_min": 700.0, "pt_max": 500.0}, "must be smaller than pt_max"),
        ({"pt_min": 600.0, "pt_max": 600.0}, "must be smaller than pt_max"),
        ({"pt_min": -10.0}, "must be positive"),
        ({"pileup": -1.0}, "pileup"),
        ({"pileup": float("nan")}, "finite"),
        ({"jobs": 0}, "jobs must be >= 1"),
        ({"detector": "atlas"}, "unknown detector"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"chunk_size": 0}, "chunk size"),
        ({"output": "file.txt"}, ".root"),
        ({"output": "/nonexistent-dir/x/out.root"}, "does not exist"),
    ],
)
def test_bad_input(tmp_path, no_generation, kwargs, message):
    args = {"process": "ttbar", "n_events": 10, "output": tmp_path / "out.root"}
    args.update(kwargs)
    if not os.path.isabs(str(args["output"])):
        args["output"] = tmp_path / args["output"]
    with pytest.raises(SampleConfigError, match=message):
        generate_sample(
            args.pop("process"), args.pop("n_events"), args.pop("output"), progress=False, **args
        )
    assert isinstance(SampleConfigError("x"), HepmlCoffeaError)


def test_unwritable_directory_reported(tmp_path, no_generation, monkeypatch):
    # os.access stands in for a read-only directory: CI runs as root, who may write anywhere
    monkeypatch.setattr(gen_mod.os, "access", lambda *a, **k: False)
    with pytest.raises(SampleConfigError, match="not writable"):
        generate_sample("qcd", 5, tmp_path / "out.root", progress=False)


def test_output_is_directory(tmp_path, no_generation):
    (tmp_path / "d.root").mkdir()
    with pytest.raises(SampleConfigError, match="is a directory"):
        generate_sample("qcd", 5, tmp_path / "d.root", progress=False)


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_generate_arguments(parser)
    return parser.parse_args(argv)


def test_cli_bad_input_exit_code(tmp_path, capsys, no_generation):
    args = _parse(
        [
            "--process",
            "qcd",
            "--events",
            "10",
            "--output",
            str(tmp_path / "o.root"),
            "--pt-min",
            "800",
            "--pt-max",
            "700",
        ]
    )
    assert run_generate(args) == 2
    err = capsys.readouterr().err
    assert "pt_min" in err and "Traceback" not in err
    assert not (tmp_path / "o.root").exists()


def test_cli_unknown_process_rejected_by_argparse():
    with pytest.raises(SystemExit) as exc:
        _parse(["--process", "higgs", "--events", "1", "--output", "x.root"])
    assert exc.value.code == 2


def test_cli_runs(tmp_path, capsys):
    out = tmp_path / "cli.root"
    args = _parse(
        ["--process", "qcd", "--events", "5", "--output", str(out), "--seed", "3", "--no-progress"]
    )
    assert run_generate(args) == 0
    assert out.exists() and str(out) in capsys.readouterr().out
