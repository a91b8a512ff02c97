"""Jets selected, sliced or reordered before tagging keep their own constituents (issue 14, item 1)."""

import awkward as ak
import dask
import numpy as np
import pytest
import uproot
from real_cms import open_events

from hepml_coffea import PluginKind, attach, get_registry
from hepml_coffea.data import cms_file
from hepml_coffea.errors import InvalidInputError
from hepml_coffea.events import open_nanoaod
from hepml_coffea.features import jet_constituents

SELECTIONS = {
    "mask": lambda jets: jets[jets.pt > 300],
    "slice": lambda jets: jets[:, 1:],
    "reversed": lambda jets: jets[:, ::-1],
    "argsort by msoftdrop": lambda jets: jets[ak.argsort(jets.msoftdrop)],
}


def builtin_fatjet_plugins():
    return [
        p
        for p in get_registry().plugins.values()
        if p.collection == "FatJet" and p.package == "hepml-coffea"
    ]


def open_file(path, mode="eager"):
    return open_nanoaod(path, mode)


def selected_positions(events, select) -> np.ndarray:
    """Where each selected jet sat in ``ak.flatten(events.FatJet)`` before the selection."""
    jets = events.FatJet
    counts = ak.num(jets, axis=1)
    flat_position = ak.local_index(jets, axis=1) + ak.Array(np.cumsum(counts) - counts)
    tagged = ak.with_field(jets, flat_position, "flat_position")
    return ak.to_numpy(ak.flatten(select(tagged).flat_position))


def with_jets(events, select):
    events = events[ak.num(events.FatJet) > 1]  # an event selection first, as analyses do
    return ak.with_field(events, select(events.FatJet), "FatJet"), events


@pytest.fixture(scope="module")
def generated(generated_ttbar_qcd):
    return generated_ttbar_qcd[0]


@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize("source", ["generated", "cms"])
def test_every_builtin_feature_builder_sees_the_selected_jets_own_constituents(
    selection, source, generated
):
    events = open_file(generated) if source == "generated" else open_events("pfnano")
    selected, before = with_jets(events, SELECTIONS[selection])
    positions = selected_positions(before, SELECTIONS[selection])
    assert len(positions) > 0
    # the pileup regressions read truth and rho branches that only generated samples have
    plugins = [
        p
        for p in builtin_fatjet_plugins()
        if source == "generated" or p.kind != PluginKind.PILEUP_REGRESSION
    ]
    for plugin in plugins:
        ours, theirs = plugin.features(selected), plugin.features(before)
        if not isinstance(ours, dict):  # a feature matrix, one row per jet
            ours, theirs = {"features": ours}, {"features": theirs}
        for name, values in theirs.items():
            # outputs on the jets follow the selection; per-candidate ones do not change
            outputs = {output.name: output for output in plugin.outputs}
            on_jets = name == "features" or plugin.output_collection(outputs[name]) == "FatJet"
            expected = np.asarray(values)[positions] if on_jets else np.asarray(values)
            np.testing.assert_array_equal(
                np.asarray(ours[name]), expected, err_msg=f"{plugin.name} {name}"
            )


def test_selected_jets_get_the_candidates_coffea_links_to_them(generated):
    """Generated files also carry FatJet_nConstituents, so coffea's own FatJet.constituents (which
    follows selections through global indices) is an independent reference."""
    events = open_file(generated)
    jets = events.FatJet[ak.argsort(events.FatJet.msoftdrop)]
    jets = jets[jets.pt > 550]
    ours = jet_constituents(ak.with_field(events, jets, "FatJet"))
    reference = ak.sort(jets.constituents.pf.pt, axis=-1, ascending=False)
    np.testing.assert_array_equal(ours.counts, ak.to_numpy(ak.flatten(ak.num(reference, axis=-1))))
    np.testing.assert_allclose(ours.pt, ak.to_numpy(ak.flatten(reference, axis=None)), rtol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_attach_after_a_jet_selection_equals_attach_before_it(mode, generated):
    plugins = builtin_fatjet_plugins()
    reference = attach(open_file(generated), plugins)
    select = SELECTIONS["argsort by msoftdrop"]
    expected_jets = select(reference.FatJet[reference.FatJet.pt > 550])

    events = open_file(generated, mode)
    events["FatJet"] = select(
        events.FatJet[events.FatJet.pt > 550]
    )  # in place, as in coffea's docs
    jets = attach(events, plugins).FatJet
    if mode == "dask":
        (jets,) = dask.compute(jets)
    assert ak.sum(ak.num(jets)) == ak.sum(ak.num(expected_jets)) > 50
    for plugin in plugins:
        column = plugin.column_name(plugin.outputs[0])
        np.testing.assert_allclose(
            ak.to_numpy(ak.flatten(jets[column])),
            ak.to_numpy(ak.flatten(expected_jets[column])),
            rtol=1e-6,
            atol=1e-7,
            err_msg=f"{plugin.name} in {mode} mode",
        )


def test_a_jet_whose_axis_was_moved_is_refused_not_given_wrong_constituents():
    events = open_events("pfnano")
    moved = ak.with_field(
        events.FatJet, -events.FatJet.eta, "eta"
    )  # mirrored: no constituents there
    with pytest.raises(
        InvalidInputError, match=r"FatJet jet\(s\) cannot be matched .* keep each jet's eta and phi"
    ):
        jet_constituents(ak.with_field(events, moved, "FatJet"))


def test_a_small_axis_shift_still_finds_the_jets_own_constituents():
    events = open_events("pfnano")
    shifted = ak.with_field(events.FatJet, events.FatJet.eta + 0.05, "eta")
    ours = jet_constituents(ak.with_field(events, shifted, "FatJet"))
    np.testing.assert_array_equal(ours.pt, jet_constituents(events).pt)


def test_a_file_skimmed_without_reindexing_is_still_an_error(tmp_path):
    """A truly inconsistent link table: keep only the leading FatJet, leave the links as they were."""
    with uproot.open(cms_file("pfnano")) as source:
        tree = source["Events"]
        jets = tree.arrays(
            ["FatJet_pt", "FatJet_eta", "FatJet_phi", "FatJet_mass", "FatJet_msoftdrop"]
        )
        links = tree.arrays(["FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx"])
        cands = tree.arrays(
            [f"PFCands_{f}" for f in ("pt", "eta", "phi", "mass", "charge", "pdgId")]
        )
        ids = tree.arrays(["run", "luminosityBlock", "event"])
    skimmed = tmp_path / "skimmed.root"
    with uproot.recreate(skimmed) as out:

        def zipped(arrays, prefix, keep=slice(None)):
            return ak.zip({name[len(prefix) :]: arrays[name][:, keep] for name in arrays.fields})

        branches = {
            "FatJet": zipped(jets, "FatJet_", slice(0, 1)),
            "FatJetPFCands": zipped(links, "FatJetPFCands_"),
            "PFCands": zipped(cands, "PFCands_"),
            **{name: ids[name] for name in ids.fields},
        }
        out.mktree("Events", {name: array.type for name, array in branches.items()})
        out["Events"].extend(branches)
    with pytest.raises(
        InvalidInputError, match="FatJetPFCands links point outside .* skimmed without re-indexing"
    ):
        jet_constituents(open_file(skimmed))
