"""One plugin, two collections: ``Output.collection`` columns in every mode, checked lengths."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepml_coffea
from hepml_coffea import Output, Plugin, PluginKind
from hepml_coffea.data import cms_file
from hepml_coffea.errors import InvalidInputError


def jet_and_candidate_columns(events) -> dict[str, np.ndarray]:
    jets, cands = events.FatJet, events.PFCands
    return {
        "double_pt": 2 * ak.to_numpy(ak.flatten(jets["pt"], axis=1)),
        "cand_pt": ak.to_numpy(ak.flatten(cands["pt"], axis=1)),
    }


def too_few_candidates(events) -> dict[str, np.ndarray]:
    columns = jet_and_candidate_columns(events)
    columns["cand_pt"] = columns["cand_pt"][:-1]
    return columns


def plugin(features) -> Plugin:
    return Plugin(
        name="two_collections",
        kind=PluginKind.PILEUP_REGRESSION,
        collection="FatJet",
        required_branches=("FatJet_pt", "PFCands_pt"),
        outputs=(
            Output("double_pt", range=(0, 3000)),
            Output("cand_pt", range=(0, 3000), collection="PFCands"),
        ),
        features=features,
    )


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_columns_land_on_their_collections(mode, read_pileup):
    events = read_pileup(cms_file("pfnano"), mode)
    out = hepml_coffea.attach(events, [plugin(jet_and_candidate_columns), "cutbased"])
    columns = (out.FatJet.two_collections_double_pt, out.PFCands.two_collections_cand_pt)
    expected = (2 * out.FatJet.pt, out.PFCands.pt)
    top = out.FatJet.cutbased_top
    if mode == "dask":
        import dask

        columns, expected, top = dask.compute(columns, expected, top)
    for got, want in zip(columns, expected, strict=True):
        assert ak.all(ak.num(got) == ak.num(want))
        np.testing.assert_allclose(ak.to_numpy(ak.flatten(got)), ak.to_numpy(ak.flatten(want)))
    assert ak.all(ak.num(top) == ak.num(columns[0]))  # a one-collection plugin beside it


def test_wrong_length_on_the_second_collection_is_an_error(read_pileup):
    events = read_pileup(cms_file("pfnano"), "eager")
    with pytest.raises(InvalidInputError, match="cand_pt.*PFCands objects"):
        hepml_coffea.attach(events, [plugin(too_few_candidates)])
