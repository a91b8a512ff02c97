"""open_nanoaod: the one way hepml-coffea opens a single NanoAOD file."""

import re

import awkward as ak
import pytest
from broken_inputs import REFUSED_UP_FRONT, broken_input

from hepml_coffea import ConfigurationError, InputFileError, open_nanoaod
from hepml_coffea.data import cms_file


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_every_mode_reads_the_same_jets_and_records_the_file(mode):
    path = cms_file("pfnano")
    events = open_nanoaod(path, mode, dataset="ttbar")
    pt = events.FatJet.pt
    pt = pt.compute() if mode == "dask" else pt
    reference = open_nanoaod(path, "eager").FatJet.pt
    assert ak.all(ak.flatten(pt) == ak.flatten(reference)) and len(ak.flatten(reference)) > 0
    assert events.metadata["filename"] == str(path) and events.metadata["dataset"] == "ttbar"
    assert hasattr(events, "PFCands")  # the PF-candidate schema


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_entry_stop_reads_the_first_events_in_every_mode(mode):
    path = cms_file("pfnano")
    events = open_nanoaod(path, mode, entry_stop=3)
    pt = events.FatJet.pt
    pt = pt.compute() if mode == "dask" else pt
    reference = open_nanoaod(path, "eager").FatJet.pt[:3]
    assert len(pt) == 3 and ak.all(ak.flatten(pt) == ak.flatten(reference))


@pytest.mark.parametrize("kind", sorted(REFUSED_UP_FRONT))
def test_a_broken_file_is_one_line_naming_it(kind, tmp_path):
    path, tree = broken_input(kind, tmp_path)
    with pytest.raises(InputFileError, match=re.escape(REFUSED_UP_FRONT[kind])) as caught:
        open_nanoaod(path, treename=tree)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ConfigurationError, match="'lazy' is not one of eager, virtual, dask"):
        open_nanoaod(cms_file("pfnano"), "lazy")
