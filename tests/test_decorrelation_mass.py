"""One jet mass for decorrelation: the processor's histogram axis and the training masses agree."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
from hepml_processors import TaggingProcessor

from hepml_coffea import get_registry
from hepml_coffea.decorrelation import decorrelation_mass_field
from hepml_coffea.decorrelation import mass as decorrelation_mass
from hepml_coffea.events import open_nanoaod
from hepml_coffea.training import load_labelled_features

MASS_BINS = (60, 0.0, 300.0)


def test_the_groomed_mass_when_the_collection_has_it():
    assert decorrelation_mass_field(["pt", "mass", "msoftdrop"]) == "msoftdrop"


def test_the_plain_mass_otherwise():
    assert decorrelation_mass_field(["pt", "eta", "mass"]) == "mass"


def _events(path):
    return open_nanoaod(path, "eager", dataset="qcd")


# patching the preferred field to one the jets lack makes the one function fall back to "mass":
# a processor or training with a copy of the rule would keep reading msoftdrop and disagree
@pytest.mark.parametrize(
    ("preferred", "expected"), [("msoftdrop", "msoftdrop"), ("no_such_mass", "mass")]
)
def test_processor_and_training_read_the_same_mass(
    generated_ttbar_qcd, monkeypatch, preferred, expected
):
    monkeypatch.setattr(decorrelation_mass, "PREFERRED_MASS", preferred)
    signal, background = generated_ttbar_qcd
    events = _events(background)
    output = TaggingProcessor(
        ["cutbased"], pt_min=-math.inf, eta_max=math.inf, mass_bins=MASS_BINS
    ).process(events)
    (histogram,) = output["hists"].values()
    assert histogram.axes["mass"].label == f"FatJet {expected} [GeV]"

    training = load_labelled_features(get_registry().get("cutbased"), [signal], [background])
    training_mass = training.mass[training.labels == 0]
    expected_mass = ak.to_numpy(ak.flatten(events.FatJet[expected]))
    np.testing.assert_array_equal(np.sort(training_mass), np.sort(expected_mass))
    edges = np.linspace(MASS_BINS[1], MASS_BINS[2], MASS_BINS[0] + 1)
    np.testing.assert_array_equal(
        histogram[{"dataset": "qcd", "score": sum}].values(), np.histogram(training_mass, edges)[0]
    )
    assert not np.array_equal(
        ak.to_numpy(ak.flatten(events.FatJet.msoftdrop)),
        ak.to_numpy(ak.flatten(events.FatJet.mass)),
    )
