"""Unit checks of substructure (against fastjet), detector numbers and pileup overlay."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepml_coffea.samples import detector as det
from hepml_coffea.samples.numba_substructure import jet_substructure
from hepml_coffea.samples.pileup import overlay
from hepml_coffea.samples.pythia_events import ParticleArrays


def _random_jets(n_jets=20, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.integers(2, 60, n_jets)
    tot = n.sum()
    pt = rng.exponential(10.0, tot) + 0.5
    eta = rng.normal(0.3, 0.3, tot)
    phi = rng.normal(3.1, 0.3, tot)  # straddles the +-pi boundary
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + 0.14**2)
    return n, px, py, pz, e


@pytest.mark.filterwarnings("ignore:dcut and exclusive jets")
def test_substructure_matches_fastjet():
    import fastjet
    import vector

    vector.register_awkward()
    n, px, py, pz, e = _random_jets()
    off = np.r_[0, np.cumsum(n)]
    msd, tau = jet_substructure(px, py, pz, e, off)
    arr = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"), n)
    ca = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
    sd = ca.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=0.8)
    np.testing.assert_allclose(msd, ak.to_numpy(sd.msoftdrop), rtol=1e-9, atol=1e-9)
    for nax in (1, 2, 3):
        sel = n > nax
        kt = fastjet.ClusterSequence(arr[sel], fastjet.JetDefinition(fastjet.kt_algorithm, 10.0))
        axes = ak.with_name(kt.exclusive_jets(n_jets=nax), "Momentum4D")
        c = ak.with_name(arr[sel], "Momentum4D")
        dy = c.rapidity[:, :, None] - axes.rapidity[:, None, :]
        dphi = (c.phi[:, :, None] - axes.phi[:, None, :] + np.pi) % (2 * np.pi) - np.pi
        ref = (
            ak.sum(c.pt * ak.min(np.sqrt(dy**2 + dphi**2), axis=2), axis=1)
            / ak.sum(c.pt, axis=1)
            / 0.8
        )
        np.testing.assert_allclose(tau[sel, nax - 1], ak.to_numpy(ref), rtol=1e-9)


def _particles(pdg, pt, eta, charge, from_lv=None):
    pt, eta = np.asarray(pt, float), np.asarray(eta, float)
    phi = np.zeros_like(pt)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    mass = np.zeros_like(pt)
    return ParticleArrays(
        counts=np.array([len(pt)]),
        px=px,
        py=py,
        pz=pz,
        e=np.sqrt(px**2 + py**2 + pz**2),
        mass=mass,
        pdg_id=np.asarray(pdg, np.int32),
        charge=np.asarray(charge, np.float32),
        from_lv=np.ones(len(pt), bool) if from_lv is None else np.asarray(from_lv, bool),
    )


def test_tracking_efficiency_numbers():
    ids = np.array([211, 211, 211, 211, 11, 13])
    pt = np.array([0.5, 5.0, 0.5, 5.0, 200.0, 5.0])
    eta = np.array([0.1, 0.1, 2.0, 2.0, 0.1, 2.0])
    eff = det.track_efficiency(ids, pt, eta)
    np.testing.assert_allclose(eff, [0.70, 0.95, 0.60, 0.85, 0.99, 0.98])
    assert det.track_efficiency(np.array([211]), np.array([5.0]), np.array([2.6]))[0] == 0.0


def test_detector_energy_and_flags():
    rng = np.random.default_rng(0)
    n = 4000
    p = _particles(
        pdg=np.where(np.arange(n) % 2 == 0, 211, 22),
        pt=np.full(n, 5.0),
        eta=rng.uniform(-2.4, 2.4, n),
        charge=np.where(np.arange(n) % 2 == 0, 1, 0),
        from_lv=np.arange(n) % 4 < 2,
    )
    phi = rng.uniform(-np.pi, np.pi, n)
    pt = np.full(n, 5.0)
    p.px, p.py = pt * np.cos(phi), pt * np.sin(phi)
    c = det.simulate_detector(p, rng, "simple")
    tracks = c.charge != 0
    # ~95 % (barrel) / 85 % (endcap) of 2000 pions are tracked
    assert 0.8 * 2000 < tracks.sum() < 0.97 * 2000
    assert set(np.unique(c.from_pv[tracks])) == {det.FROM_PV_LEADING, det.FROM_PV_PILEUP}
    assert np.all(c.from_pv[~tracks] == det.FROM_PV_NEUTRAL)
    assert np.all(c.mass[~tracks] == 0)
    # energy is roughly conserved (smearing, thresholds)
    assert abs(c.e.sum() / p.e.sum() - 1) < 0.05
    none = det.simulate_detector(p, rng, "none")
    assert len(none.px) == n


def test_overlay_keeps_signal_first():
    sig = _particles([211, 22], [10, 20], [0, 1], [1, 0])
    pu = _particles([211], [1], [0.5], [1], from_lv=[False])
    sig.counts = np.array([1, 1])
    pu.counts = np.array([0, 1])
    out = overlay(sig, pu)
    np.testing.assert_array_equal(out.counts, [1, 2])
    np.testing.assert_array_equal(out.from_lv, [True, True, False])
