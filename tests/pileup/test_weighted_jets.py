"""The one weights-to-jet function: all weights 1 gives the stored jet, the true leading-vertex
fractions give the stored pileup-free jet, and zero weights are the same as dropping."""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.pileup.candidates import jet_candidates
from hepml_coffea.pileup.contract import jets_from_weights
from hepml_coffea.pileup.jets import weighted_jets


def flat(jets, field):
    return ak.to_numpy(ak.flatten(jets[field], axis=1)).astype(np.float64)


def test_unit_weights_reproduce_the_stored_jets(qcd_pu30, read_pileup):
    events = read_pileup(qcd_pu30)
    cands = jet_candidates(events)
    jets = jets_from_weights(cands, np.ones(len(cands.pt)))
    assert len(jets.pt) > 10
    # candidates are stored in float32: agreement to float32 rounding of a ~500-constituent sum
    np.testing.assert_allclose(jets.pt, flat(events.FatJet, "pt"), rtol=2e-5)
    np.testing.assert_allclose(jets.mass, flat(events.FatJet, "mass"), rtol=2e-3, atol=0.05)
    np.testing.assert_allclose(
        jets.msoftdrop, flat(events.FatJet, "msoftdrop"), rtol=2e-3, atol=0.05
    )


def test_true_fractions_reproduce_the_hard_jets(qcd_pu30, read_pileup):
    events = read_pileup(qcd_pu30)
    cands = jet_candidates(events)
    fraction = ak.to_numpy(ak.flatten(events.PFCands.lvFraction)).astype(np.float64)
    jets = jets_from_weights(cands, fraction)
    hard_pt = flat(events.FatJet, "hardPt")
    np.testing.assert_allclose(jets.pt, hard_pt, rtol=2e-5)
    np.testing.assert_allclose(jets.mass, flat(events.FatJet, "hardMass"), rtol=2e-3, atol=0.05)
    np.testing.assert_allclose(
        jets.msoftdrop, flat(events.FatJet, "hardMsoftdrop"), rtol=2e-3, atol=0.05
    )
    # and pileup really was there: the plain jets are harder than their pileup-free versions
    assert np.all(flat(events.FatJet, "pt") > hard_pt)


def test_zero_weight_is_dropping_the_candidate():
    rng = np.random.default_rng(3)
    n = 40
    pt, eta, phi = rng.exponential(20, n), rng.normal(0, 0.3, n), rng.normal(0, 0.3, n)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2)
    w = np.where(rng.random(n) < 0.3, 0.0, 1.0)
    a = weighted_jets(px, py, pz, e, np.array([n]), w)
    keep = w > 0
    b = weighted_jets(px[keep], py[keep], pz[keep], e[keep], np.array([keep.sum()]), w[keep])
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    half = weighted_jets(px, py, pz, e, np.array([n]), np.full(n, 0.5))
    full = weighted_jets(px, py, pz, e, np.array([n]), np.ones(n))
    for x, y in zip(half, full, strict=True):  # a common scale is linear in every quantity
        np.testing.assert_allclose(x, 0.5 * y, rtol=1e-9)
