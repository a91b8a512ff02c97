"""What the samples store for pileup studies: leading-vertex fractions, pileup-free jets, rho,
jet areas, the SoftKiller cut and the candidates around each jet; pool size and seeds."""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.pileup.performance import EVALUATION_SEED, TRAINING_SEEDS
from hepml_coffea.samples.background import (
    AREA_GHOST_DR,
    NEIGHBOUR_DR,
    event_rho,
    jet_areas,
)
from hepml_coffea.samples.detector import simulate_detector
from hepml_coffea.samples.fatjets import JET_R, cluster_fatjets
from hepml_coffea.samples.generate import job_seeds
from hepml_coffea.samples.pileup import PileupPool, overlay, pool_size
from hepml_coffea.samples.processes import pythia_settings
from hepml_coffea.samples.pythia_events import PythiaGenerator


def _pileup_chunk(n=12, mu=30.0):
    rng = np.random.default_rng(4)
    batch = PythiaGenerator(pythia_settings("qcd", 500, 700), 11).generate(n)
    particles = overlay(batch.particles, PileupPool(5, 200).draw(n, mu, rng))
    cands = simulate_detector(particles, rng)
    return cands, cluster_fatjets(cands, batch.genpart, 500, 700, area_seed=1)


def test_rho_is_fastjets_grid_median_of_every_candidate():
    import fastjet

    cands, _ = _pileup_chunk()
    rho, rho_m = event_rho(cands)
    offsets = np.cumsum(cands.counts) - cands.counts
    for ev in range(4):
        sl = slice(offsets[ev], offsets[ev] + cands.counts[ev])
        particles = [
            fastjet.PseudoJet(*map(float, p))
            for p in zip(cands.px[sl], cands.py[sl], cands.pz[sl], cands.e[sl], strict=True)
        ]
        estimator = fastjet.GridMedianBackgroundEstimator(3.0, 0.55)
        estimator.set_compute_rho_m(True)
        estimator.set_particles(fastjet.vectorPJ(particles))
        assert rho[ev] > 5
        np.testing.assert_allclose(
            [rho[ev], rho_m[ev]], [estimator.rho(), estimator.rho_m()], rtol=1e-9
        )


def test_jet_areas_agree_with_fastjet_active_areas():
    import fastjet

    cands, jets = _pileup_chunk()
    assert len(jets.pt) >= 5
    # a disk of radius R for hard anti-kT jets; its four-vector area has mass ~ A R / sqrt(2)
    assert np.all(np.abs(jets.area - np.pi * JET_R**2) < 0.3)
    np.testing.assert_allclose(jets.area_mass, jets.area * JET_R / np.sqrt(2), rtol=0.1)
    offsets = np.cumsum(cands.counts) - cands.counts
    jet_event = np.repeat(np.arange(len(jets.counts)), jets.counts)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    area_def = fastjet.AreaDefinition(fastjet.active_area, fastjet.GhostedAreaSpec(3.5, 1, 0.01))
    for k in range(4):
        ev = jet_event[k]
        sl = slice(offsets[ev], offsets[ev] + cands.counts[ev])
        particles = fastjet.vectorPJ(
            [
                fastjet.PseudoJet(*map(float, p))
                for p in zip(cands.px[sl], cands.py[sl], cands.pz[sl], cands.e[sl], strict=True)
            ]
        )
        reference = fastjet.ClusterSequenceArea(particles, definition, area_def)
        best = min(
            reference.inclusive_jets(100.0),
            key=lambda j: (j.eta() - jets.eta[k]) ** 2 + (j.phi_std() - jets.phi[k]) ** 2,
        )
        assert abs(jets.area[k] - best.area()) < 0.05 * best.area()
    assert AREA_GHOST_DR > JET_R


def test_areas_do_not_depend_on_the_ghost_seed_beyond_their_jitter():
    cands, jets = _pileup_chunk()
    again, _ = jet_areas(
        cands, jets.counts, jets.eta, jets.phi, jets.constituents, jets.n_constituents, JET_R, 99
    )
    np.testing.assert_allclose(again, jets.area, atol=0.08)


def test_pileup_file_branches(ttbar_pu_file, read_nano):
    ev = read_nano(ttbar_pu_file)
    pf, fj = ev.PFCands, ev.FatJet
    fraction = ak.to_numpy(ak.flatten(pf.lvFraction))
    from_lv = ak.to_numpy(ak.flatten(pf.fromLV))
    assert np.all((fraction >= 0) & (fraction <= 1))
    assert np.array_equal(from_lv == 1, fraction >= 0.5)
    neutral = ak.to_numpy(ak.flatten(pf.charge == 0))
    assert np.any((fraction[neutral] > 0.05) & (fraction[neutral] < 0.95))  # mixed cells
    assert np.all(np.isin(fraction[~neutral], (0.0, 1.0)))
    assert ak.all(fj.hardPt <= fj.pt * (1 + 1e-6)) and ak.any(fj.hardPt < fj.pt)
    assert np.all(
        ak.to_numpy(ev.fixedGridRhoFastjetAll) >= ak.to_numpy(ev.fixedGridRhoFastjetCentralChs)
    )
    assert np.all(ak.to_numpy(ev.softKillerPtCutChs) >= 0)
    # stored candidates beyond the constituents all lie near a saved jet
    links = ak.num(ev.FatJetPFCands)
    extra = pf[ak.local_index(pf.pt) >= links]
    assert ak.sum(ak.num(extra)) > 0
    deta = extra.eta[:, :, None] - fj.eta[:, None, :]
    dphi = (extra.phi[:, :, None] - fj.phi[:, None, :] + np.pi) % (2 * np.pi) - np.pi
    closest = ak.min(np.sqrt(deta**2 + dphi**2), axis=2)
    assert ak.all(ak.flatten(closest) < NEIGHBOUR_DR + 1e-3)


def test_hard_jets_are_the_jets_without_pileup(ttbar_events):
    fj = ttbar_events.FatJet
    for plain, hard in (("pt", "hardPt"), ("mass", "hardMass"), ("msoftdrop", "hardMsoftdrop")):
        assert ak.all(fj[plain] == fj[hard])
    assert ak.all(ttbar_events.PFCands.lvFraction == 1)


def test_pool_size_at_high_pileup():
    # expected pairs of repeated pool events per crossing, mu^2 / (2 N), stays at most 1
    for mu in (20, 60, 140, 300):
        assert mu * mu / (2 * pool_size(mu)) <= 1.0
    assert pool_size(0) == pool_size(40) == 1000 and pool_size(140) == 9800


def test_evaluation_pool_seeds_are_never_training_seeds():
    def seeds(seed):
        return {s for job in range(16) for s in job_seeds(seed, job)[:2]}

    training = set().union(*(seeds(s) for s in TRAINING_SEEDS))
    assert EVALUATION_SEED not in TRAINING_SEEDS
    assert not seeds(EVALUATION_SEED) & training
