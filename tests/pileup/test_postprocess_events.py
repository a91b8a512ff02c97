"""The plugin contract's ``postprocess_events``: a postprocess that sees the events (as pumml's,
mapping per-pixel predictions back onto the candidates), in every mode."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepml_coffea
from hepml_coffea import Output, Plugin, PluginKind
from hepml_coffea.errors import PluginDefinitionError

SEEN: list[tuple[str, ...]] = []


def jet_pt(events) -> np.ndarray:
    return ak.to_numpy(ak.flatten(events.FatJet["pt"]))


class SharePerCandidate:
    """Per candidate: its pT over the summed pT of its event's jets (needs the events)."""

    def __call__(self, raw: np.ndarray, events) -> dict[str, np.ndarray]:
        SEEN.append(tuple(events.fields))
        jet_sum = ak.to_numpy(ak.sum(events.FatJet["pt"], axis=1))
        counts = ak.to_numpy(ak.num(events.PFCands, axis=1))
        cand_pt = ak.to_numpy(ak.flatten(events.PFCands["pt"]))
        return {"twice": 2 * raw, "share": cand_pt / np.repeat(jet_sum, counts)}


PLUGIN = Plugin(
    name="pp_events",
    kind=PluginKind.PILEUP_REGRESSION,
    collection="FatJet",
    required_branches=("FatJet_pt", "PFCands_pt"),
    outputs=(Output("twice", range=(0, 3000)), Output("share", collection="PFCands")),
    features=jet_pt,
    postprocess=SharePerCandidate(),
    postprocess_events=True,
)


def values(events, mode):
    out = hepml_coffea.attach(events, [PLUGIN])
    cols = (out.FatJet.pp_events_twice, out.PFCands.pp_events_share)
    if mode == "dask":
        import dask

        cols = dask.compute(*cols)
    return [ak.to_numpy(ak.flatten(c)) for c in cols]


def test_postprocess_sees_the_declared_events_in_every_mode(qcd_pu0, read_pileup):
    SEEN.clear()
    eager = values(read_pileup(qcd_pu0, "eager"), "eager")
    events = read_pileup(qcd_pu0)
    np.testing.assert_allclose(eager[0], 2 * jet_pt(events))
    assert SEEN and set(SEEN[0]) == {"FatJet", "PFCands"}  # only what the plugin declares
    for mode in ("virtual", "dask"):
        other = values(read_pileup(qcd_pu0, mode), mode)
        for a, b in zip(eager, other, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=mode)


def test_postprocess_events_needs_a_postprocess():
    with pytest.raises(PluginDefinitionError, match="postprocess_events"):
        Plugin(
            name="broken",
            kind=PluginKind.PILEUP_REGRESSION,
            collection="FatJet",
            required_branches=("FatJet_pt",),
            outputs=(Output("x"),),
            features=jet_pt,
            postprocess_events=True,
        )
