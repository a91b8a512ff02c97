"""Tiny real samples, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepml_coffea import open_nanoaod
from hepml_coffea.samples import generate_sample

N_EVENTS = 60


def read_events(path: Path, mode: str = "eager"):
    """NanoEvents with the PFNano schema (quiet about NanoAOD branches we do not write)."""
    return open_nanoaod(path, mode, quiet=True)


@pytest.fixture(scope="session")
def read_nano():
    """The :func:`read_events` helper (test modules must not import conftest by name)."""
    return read_events


@pytest.fixture(scope="session")
def n_events() -> int:
    return N_EVENTS


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("samples")


@pytest.fixture(scope="session")
def ttbar_file(sample_dir) -> Path:
    return generate_sample(
        "ttbar", N_EVENTS, sample_dir / "ttbar.root", seed=1, chunk_size=25, progress=False
    )


@pytest.fixture(scope="session")
def qcd_file(sample_dir) -> Path:
    return generate_sample("qcd", N_EVENTS, sample_dir / "qcd.root", seed=1, progress=False)


@pytest.fixture(scope="session")
def ttbar_pu_file(sample_dir) -> Path:
    return generate_sample(
        "ttbar", N_EVENTS, sample_dir / "ttbar_pu10.root", seed=2, pileup=10.0, progress=False
    )


@pytest.fixture(scope="session")
def ttbar_events(ttbar_file):
    return read_events(ttbar_file)
