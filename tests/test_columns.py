"""attach() on real CMS NanoAOD in eager, virtual and dask mode, and its errors."""

import awkward as ak
import dask_awkward as dak
import numpy as np
import pytest
from coffea.nanoevents import NanoAODSchema
from real_cms import open_events

from hepml_coffea import (
    ConfigurationError,
    InvalidInputError,
    MissingBranchError,
    attach,
    runtime,
)
from hepml_coffea.features import fatjet_substructure, top_window_features


def test_cutbased_scores_follow_the_definition():
    events = attach(open_events("pfnano"), "cutbased")
    jets = ak.flatten(events.FatJet)
    msd = ak.to_numpy(jets.msoftdrop)
    # jets.tau2 would be vector's tau**2 (the mass squared), not the N-subjettiness branch
    tau32 = ak.to_numpy(jets["tau3"] / jets["tau2"])
    expected = np.where((msd > 105) & (msd < 210), np.clip(1 - tau32, 0, 1), 0)
    np.testing.assert_allclose(ak.to_numpy(jets.cutbased_top), expected, rtol=1e-6)
    assert (ak.to_numpy(jets.cutbased_top) > 0).sum() >= 1  # the file has jets in the window
    assert events.FatJet.cutbased_top.type.content.content.primitive == "float32"


@pytest.mark.parametrize("mode", ["virtual", "dask"])
def test_every_mode_gives_identical_columns(mode, dnn_plugin):
    plugins = ["cutbased", dnn_plugin]
    reference = attach(open_events("pfnano"), plugins).FatJet
    events = attach(open_events("pfnano", mode=mode), plugins)
    jets = events.FatJet
    if mode == "dask":
        jets = jets.compute()
    for column in ("cutbased_top", "substructure_dnn_top"):
        assert ak.to_list(jets[column]) == ak.to_list(reference[column])
    # behaviours survive: the collection still has FatJet four-vector methods
    assert ak.all(jets.delta_r(jets) == 0)


def test_network_output_depends_on_the_jet(dnn_plugin):
    scores = ak.to_numpy(
        ak.flatten(attach(open_events("pfnano"), [dnn_plugin]).FatJet.substructure_dnn_top)
    )
    assert len(scores) == 24
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.std(scores) > 1e-3


def test_dask_graph_builds_without_loading_a_model(dnn_plugin, monkeypatch):
    loads_before = runtime.load_count()
    runtime.clear_models()  # forget models other tests loaded
    events = open_events("pfnano", mode="dask")
    scores = attach(events, [dnn_plugin]).FatJet.substructure_dnn_top
    columns = dak.report_necessary_columns(scores)
    assert runtime.load_count() == loads_before, "building or optimising the graph loaded the model"
    (read,) = columns.values()
    assert set(read) == {"nFatJet", *dnn_plugin.required_branches}
    scores.compute()
    assert runtime.load_count() == loads_before + 1


def test_events_without_jets_and_empty_partitions():
    dy = attach(open_events("drell_yan", schema=NanoAODSchema), ["cutbased"])
    assert len(dy) == 40 and ak.sum(ak.num(dy.FatJet.cutbased_top)) == 0
    empty = attach(open_events("pfnano")[:0], ["cutbased"])
    assert len(empty) == 0 and "cutbased_top" in empty.FatJet.fields
    lazy = open_events("pfnano", mode="dask")
    lazy = lazy[lazy.run < 0]  # every partition becomes zero-length
    assert len(attach(lazy, ["cutbased"]).FatJet.cutbased_top.compute()) == 0


def test_missing_branch_names_plugin_branch_and_file():
    events = open_events("open_data_ttbar", schema=NanoAODSchema, mode="virtual")
    with pytest.raises(MissingBranchError) as error:
        attach(events, ["cutbased"])
    message = str(error.value)
    assert "'cutbased'" in message and "FatJet_msoftdrop" in message
    assert "nanoAOD_2015_CMS_Open_Data_ttbar.root" in message


def test_missing_branch_is_caught_at_graph_build_time_in_dask():
    events = open_events("open_data_ttbar", schema=NanoAODSchema, mode="dask")
    with pytest.raises(MissingBranchError, match="FatJet_msoftdrop"):
        attach(events, ["cutbased"])


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_a_collection_in_place_of_the_events_is_named(mode):
    with pytest.raises(ConfigurationError, match="not a collection such as events.FatJet; got an"):
        attach(open_events("pfnano", mode=mode).FatJet, ["cutbased"])


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_inputs_are_reported_not_dropped(bad_value, dnn_plugin):
    events = open_events("pfnano")
    pt = ak.to_numpy(ak.flatten(events.FatJet.pt)).copy()
    pt[3] = bad_value
    events["FatJet", "pt"] = ak.unflatten(pt, ak.num(events.FatJet))
    with pytest.raises(InvalidInputError) as error:
        attach(events, [dnn_plugin])
    message = str(error.value)
    assert "'substructure_dnn'" in message and "1 of 24 FatJet" in message
    assert "['log_pt']" in message and "pfnano.root" in message


def test_feature_builders_match_the_branches():
    events = open_events("pfnano")
    jets = ak.flatten(events.FatJet)
    features = fatjet_substructure(events)
    np.testing.assert_allclose(features[:, 0], np.log(ak.to_numpy(jets.pt)), rtol=1e-6)
    np.testing.assert_allclose(features[:, 2], ak.to_numpy(jets["tau2"] / jets["tau1"]), rtol=1e-5)
    np.testing.assert_allclose(top_window_features(events)[:, 0], ak.to_numpy(jets.msoftdrop))
