"""Files read back with coffea's PFNanoAODSchema in every mode, with working jet constituents."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepml_coffea.samples import LABEL_TOP


def test_branches_are_nanoaod_style(ttbar_file, n_events):
    with uproot.open(ttbar_file) as f:
        tree = f["Events"]
        assert tree.classname == "TTree"
        names = set(tree.keys())
        assert tree.num_entries == n_events
        for b in (
            "run",
            "luminosityBlock",
            "event",
            "genWeight",
            "nFatJet",
            "FatJet_msoftdrop",
            "FatJet_tau1",
            "FatJet_tau4",
            "FatJet_truthLabel",
            "nPFCands",
            "PFCands_fromPV",
            "PFCands_fromLV",
            "nFatJetPFCands",
            "FatJetPFCands_jetIdx",
            "FatJetPFCands_pFCandsIdx",
            "nGenPart",
            "GenPart_genPartIdxMother",
        ):
            assert b in names, b
        assert tree["event"].interpretation.from_dtype.kind == "u"
        assert (
            tree["FatJet_truthLabel"].array(library="ak").type.content.content.primitive == "int32"
        )
        np.testing.assert_array_equal(tree["event"].array(library="np"), np.arange(1, n_events + 1))


@pytest.mark.parametrize("mode", ["virtual", "dask"])
def test_modes_agree(ttbar_file, ttbar_events, read_nano, mode):
    other = read_nano(ttbar_file, mode)
    pt = other.FatJet.pt
    msd = other.FatJet.constituents.pf.pt
    if mode == "dask":
        pt, msd = pt.compute(), msd.compute()
    assert ak.to_list(pt) == ak.to_list(ttbar_events.FatJet.pt)
    assert ak.to_list(msd) == ak.to_list(ttbar_events.FatJet.constituents.pf.pt)


def test_constituents_sum_to_jet(ttbar_events):
    fj = ttbar_events.FatJet
    pf = fj.constituents.pf
    assert ak.all(ak.num(pf, axis=2) == fj.nConstituents)
    total = pf.sum(axis=-1)
    n = ak.sum(ak.num(fj))
    assert n > 10
    np.testing.assert_allclose(ak.flatten(total.pt), ak.flatten(fj.pt), rtol=0.01)
    np.testing.assert_allclose(ak.flatten(total.mass), ak.flatten(fj.mass), rtol=0.01)
    # every link is one constituent; the constituents come first in PFCands, each once, and the
    # other stored candidates (neighbours for pileup mitigation) follow
    links = ttbar_events.FatJetPFCands
    assert ak.all(ak.num(links) == ak.sum(fj.nConstituents, axis=1))
    assert ak.all(links.pFCandsIdx == ak.local_index(links.pFCandsIdx))
    assert ak.all(ak.num(ttbar_events.PFCands) >= ak.num(links))


def test_jet_window_and_substructure(ttbar_events):
    fj = ttbar_events.FatJet
    pt = ak.flatten(fj.pt)
    assert ak.all((pt >= 500) & (pt <= 700)) and ak.all(abs(ak.flatten(fj.eta)) < 2)
    msd, mass = ak.flatten(fj.msoftdrop), ak.flatten(fj.mass)
    assert ak.all(msd <= mass * (1 + 1e-5)) and ak.all(msd >= 0)
    for a, b in (("tau2", "tau1"), ("tau3", "tau2")):
        r = ak.flatten(fj[a] / fj[b])
        assert ak.all((r >= 0) & (r < 1.5))


def test_truth_labels(ttbar_events, qcd_file, read_nano):
    fj = ttbar_events.FatJet
    label = ak.flatten(fj.truthLabel)
    assert ak.sum(label == LABEL_TOP) > 5
    top = fj[fj.truthLabel == LABEL_TOP]
    assert ak.all(abs(ak.flatten(top.truthMass) - 173) < 15)
    assert ak.all(ak.flatten(fj[fj.truthLabel == 0].truthPt) == 0)
    # top-labelled jets: the median soft-drop mass is the top mass
    assert 140 < np.median(ak.to_numpy(ak.flatten(top.msoftdrop))) < 200
    qcd = read_nano(qcd_file)
    assert ak.sum(ak.num(qcd.FatJet)) > 10
    assert ak.all(ak.flatten(qcd.FatJet.truthLabel) == 0)


def test_genpart_tree(ttbar_events):
    gen = ttbar_events.GenPart
    tops = gen[abs(gen.pdgId) == 6]
    assert ak.all(ak.num(tops) == 2)
    ws = gen[abs(gen.pdgId) == 24]
    assert ak.all(abs(ws.parent.pdgId) == 6)
    quarks = gen[(abs(gen.pdgId) <= 5)]
    assert ak.all(ak.is_none(quarks.parent.pdgId, axis=1) == False)  # noqa: E712


def test_pileup_file(ttbar_pu_file, ttbar_events, read_nano):
    ev = read_nano(ttbar_pu_file)
    pf = ev.PFCands
    from_pv = np.unique(ak.to_numpy(ak.flatten(pf.fromPV)))
    from_lv = np.unique(ak.to_numpy(ak.flatten(pf.fromLV)))
    assert set(from_pv) == {0, 1, 3}
    assert set(from_lv) == {0, 1}
    charged = pf[pf.charge != 0]
    # for charged candidates fromPV is the truth (perfect vertexing)
    assert ak.all((charged.fromPV == 3) == (charged.fromLV == 1))
    # pileup adds constituents
    assert np.mean(ak.to_numpy(ak.flatten(ev.FatJet.nConstituents))) > np.mean(
        ak.to_numpy(ak.flatten(ttbar_events.FatJet.nConstituents))
    )
