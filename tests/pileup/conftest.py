"""Tiny pileup samples (generated once per test session) and readers for them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from hepml_coffea.samples import generate_sample


def read(path: Path, mode: str = "eager"):
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return NanoEventsFactory.from_root(
            {str(path): "Events"}, schemaclass=PFNanoAODSchema, mode=mode
        ).events()


@pytest.fixture(scope="session")
def read_pileup():
    return read


@pytest.fixture(scope="session")
def pu_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pileup_samples")


@pytest.fixture(scope="session")
def qcd_pu30(pu_dir) -> Path:
    return generate_sample("qcd", 40, pu_dir / "qcd_pu30.root", pileup=30.0, seed=5, progress=False)


@pytest.fixture(scope="session")
def qcd_pu0(pu_dir) -> Path:
    return generate_sample("qcd", 40, pu_dir / "qcd_pu0.root", seed=5, progress=False)
