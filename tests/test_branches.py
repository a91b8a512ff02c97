"""Plugins are held to the branches they declare, alike in every mode (issue 14, items 4 and 5)."""

import awkward as ak
import dask
import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema
from real_cms import open_events

from hepml_coffea import InvalidInputError, MissingBranchError, Output, Plugin, PluginKind, attach
from hepml_coffea.data import cms_file


def tau_plugin(name="undeclared", reads="tau4", declares=("FatJet_tau1", "FatJet_tau2")) -> Plugin:
    def features(events):
        jets = events.FatJet
        return ak.to_numpy(ak.flatten(jets["tau2"] / jets["tau1"] + 0 * jets[reads]))[:, None]

    return fatjet_plugin(name, features, declares, score_range=(0, 2))


def fatjet_plugin(name, features, declares=("FatJet_pt",), score_range=(0, 1e4)) -> Plugin:
    """A one-output FatJet tagger around ``features``, declaring the branches ``declares``."""
    return Plugin(
        name=name,
        kind=PluginKind.TAGGER,
        collection="FatJet",
        required_branches=declares,
        outputs=(Output("score", range=score_range),),
        features=features,
    )


def compute(events, mode):
    jets = events.FatJet
    return dask.compute(jets)[0] if mode == "dask" else jets


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_an_undeclared_branch_is_named_in_every_mode(mode):
    with pytest.raises(
        MissingBranchError,
        match=r"plugin 'undeclared' reads FatJet_tau4, which it does not "
        r"declare: add it to the plugin's required_branches",
    ):
        compute(attach(open_events("pfnano", mode=mode), [tau_plugin()]), mode)


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_declaring_the_branch_fixes_it_and_gives_the_same_columns(mode):
    plugin = tau_plugin(declares=("FatJet_tau1", "FatJet_tau2", "FatJet_tau4"))
    jets = compute(attach(open_events("pfnano", mode=mode), [plugin]), mode)
    reference = open_events("pfnano").FatJet
    np.testing.assert_allclose(
        ak.to_numpy(ak.flatten(jets.undeclared_score)),
        ak.to_numpy(ak.flatten(reference["tau2"] / reference["tau1"])),
        rtol=1e-6,
    )


def test_an_undeclared_event_level_branch_is_named():
    def features(events):
        return (
            np.repeat(ak.to_numpy(events["run"]), ak.to_numpy(ak.num(events.FatJet["pt"])))[:, None]
            * 0.0
        )

    plugin = fatjet_plugin("by_run", features)
    with pytest.raises(
        MissingBranchError, match="plugin 'by_run' reads run, which it does not declare"
    ):
        attach(open_events("pfnano"), [plugin])


def test_a_jagged_feature_array_is_refused_naming_the_plugin_and_the_fix():
    plugin = fatjet_plugin("jagged", lambda events: ak.flatten(events.FatJet.pt[:, None]))
    with pytest.raises(
        InvalidInputError,
        match=r"plugin 'jagged': its feature builder returned a jagged awkward "
        r"array .* one row per FatJet object, flattened over events",
    ):
        attach(open_events("pfnano"), [plugin])


def test_per_event_features_are_refused_with_the_row_counts():
    plugin = fatjet_plugin(
        "per_event", lambda events: ak.to_numpy(ak.max(events.FatJet.pt, axis=1))[:, None]
    )
    with pytest.raises(
        InvalidInputError, match=r"returned 10 rows for 24 FatJet objects; a feature builder"
    ):
        attach(open_events("pfnano"), [plugin])


def test_a_missing_branch_error_names_the_file_even_without_metadata():
    path = cms_file("drell_yan")  # plain NanoAOD: no PF candidates
    events = NanoEventsFactory.from_root(
        {str(path): "Events"}, schemaclass=PFNanoAODSchema, mode="eager"
    ).events()
    with pytest.raises(MissingBranchError, match=f"missing from file {path}"):
        attach(events, ["pfn"])


def test_a_behaviour_the_declared_fields_cannot_carry_is_tried_once(monkeypatch):
    """Too few declared fields for coffea's FatJet behaviour: asking again on every chunk cost
    awkward's error formatting (about 4 ms per call), so the refusal is remembered."""
    from hepml_coffea import branches

    refused = []
    zip_ = branches.ak.zip

    def counting_zip(*args, **kwargs):
        try:
            return zip_(*args, **kwargs)
        except ValueError:
            refused.append(kwargs.get("with_name"))
            raise

    monkeypatch.setattr(branches.ak, "zip", counting_zip)
    # a field combination no other test declares, so the first attach meets the refusal
    plugin = fatjet_plugin(
        "behaviour_probe",
        lambda events: ak.to_numpy(ak.flatten(events.FatJet["tau3"]))[:, None],
        declares=("FatJet_tau3",),
    )
    events = open_events("pfnano")
    first = attach(events, [plugin]).FatJet["behaviour_probe_score"]
    second = attach(events, [plugin]).FatJet["behaviour_probe_score"]
    assert refused == ["FatJet"] and ak.all(first == second)
