"""A simple, fast particle-flow detector: tracks + calorimeter cells.

Every number is a named constant below; sources are the CMS Delphes card
(``cards/delphes_card_CMS.tcl`` in Delphes 3.5, modules ChargedHadronTrackingEfficiency,
ElectronTrackingEfficiency, MuonTrackingEfficiency, *MomentumSmearing, ECal, HCal) unless stated.
See ``docs/samples.md`` for the table.

Model ("ideal particle flow"):

* charged particles with |eta| < 2.5 and pT > 0.1 GeV are reconstructed as tracks with the
  card's efficiency (per species) and relative pT resolution; direction and mass are kept;
* muons that are not tracked are lost (no muon system, no calorimeter deposit, as in the card);
* all other visible particles (neutrals, untracked charged, charged beyond the tracker) with
  |eta| < 3.0 deposit their energy in calorimeter cells of one eta-phi grid, split between ECAL
  and HCAL with the card's energy fractions; each sub-detector sum is smeared with the card's
  resolution and kept when above its energy threshold and significance; every surviving cell
  becomes one massless neutral candidate (pdgId 22 if ECAL dominated, else 130) at a random
  point in the cell (Delphes ``SmearTowerCenter``);
* tracked charged energy is not deposited (perfect track-cluster subtraction);
* neutrinos are dropped, and |eta| > 3 (HF) is not simulated.

``none`` keeps all visible generator-level final-state particles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .generation_errors import SampleConfigError
from .pythia_events import FlatFourMomenta, ParticleArrays, pt_eta_phi

DETECTORS: tuple[str, ...] = ("simple", "none")

# ---- tracker (delphes_card_CMS.tcl: ParticlePropagator / *TrackingEfficiency)
TRACKER_ETA_MAX = 2.5
TRACK_PT_MIN = 0.1  # GeV; efficiency is 0 below
TRACK_ETA_BARREL = 1.5
#: tracking efficiency {species: (barrel 0.1<pt<=1, barrel pt>1, endcap 0.1<pt<=1, endcap pt>1)}
TRACK_EFF_HADRON = (0.70, 0.95, 0.60, 0.85)
TRACK_EFF_MUON = (0.75, 0.99, 0.70, 0.98)
#: electrons: the card has an extra step at pt > 100 GeV (0.99 barrel, 0.90 endcap)
TRACK_EFF_ELECTRON = (0.73, 0.95, 0.50, 0.83)
TRACK_EFF_ELECTRON_HIGHPT = (0.99, 0.90)
TRACK_EFF_ELECTRON_HIGHPT_GEV = 100.0
#: relative pT resolution sqrt(a^2 + (b pt)^2) in |eta| bins [0,0.5], (0.5,1.5], (1.5,2.5]
#: (ChargedHadron/Electron/MuonMomentumSmearing, "based on arXiv:1405.6569")
TRACK_RES_ETA_EDGES = (0.5, 1.5)
TRACK_RES_HADRON = ((0.01, 1.5e-4), (0.015, 2.5e-4), (0.025, 5.5e-4))
TRACK_RES_ELECTRON = ((0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3))
TRACK_RES_MUON = ((0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4))

# ---- calorimeter (delphes_card_CMS.tcl: ECal / HCal)
#: one common cell grid: 0.087 x 0.087 (CMS HCAL barrel tower size, 5 degrees in phi) up to
#: |eta| < 3. Simplification: the card uses 0.0174 (ECAL) and coarser HCAL towers beyond 1.74.
CALO_ETA_MAX = 3.0
CALO_N_ETA = 69  # 6.0 / 69 = 0.0870
CALO_N_PHI = 72  # 2 pi / 72 = 0.0873
CALO_DETA = 2 * CALO_ETA_MAX / CALO_N_ETA
CALO_DPHI = 2 * np.pi / CALO_N_PHI
#: ECAL energy fraction per |pdgId| (rest goes to HCAL); e, gamma, pi0 -> 1, K0S / Lambda -> 0.3
ECAL_FRACTION = {11: 1.0, 22: 1.0, 111: 1.0, 310: 0.3, 3122: 0.3}
#: thresholds: EnergyMin (GeV) and EnergySignificanceMin (E / sigma(E))
ECAL_E_MIN = 0.5
HCAL_E_MIN = 1.0
ECAL_SIGNIFICANCE_MIN = 2.0
HCAL_SIGNIFICANCE_MIN = 2.0
#: ECAL sigma(E) = f(eta) sqrt((c E)^2 + s^2 E + n^2) for |eta| <= 2.5,
#: f = 1 + 0.64 eta^2 (|eta| <= 1.5), 2.16 + 5.6 (|eta| - 2)^2 (1.5 < |eta| <= 2.5);
#: sqrt((0.107 E)^2 + 2.08^2 E) beyond
ECAL_RES_CSN = (0.008, 0.11, 0.40)
ECAL_RES_FORWARD_CS = (0.107, 2.08)
#: HCAL sigma(E) = sqrt((0.050 E)^2 + 1.50^2 E) for |eta| <= 3
HCAL_RES_CS = (0.050, 1.50)

# ---- CMS-style vertex association (pat::PackedCandidate::PVAssoc numbering)
#: charged candidate from the leading vertex ("PVUsedInFit")
FROM_PV_LEADING = 3
#: neutral candidate: no track, cannot tell the vertex ("PVLoose" code, our convention)
FROM_PV_NEUTRAL = 1
#: charged candidate associated to a pileup vertex ("NoPV" for the leading vertex)
FROM_PV_PILEUP = 0

_NEUTRINOS = (12, 14, 16)


@dataclass
class CandidateArrays(FlatFourMomenta):
    """Reconstructed (or generator) candidates, flat with per-event counts."""

    from_pv: np.ndarray
    from_lv: np.ndarray
    #: share of the candidate's true energy from the leading vertex: 0 or 1 for a track, the
    #: energy-weighted fraction of the particles entering a cell (before smearing) for a cell
    lv_fraction: np.ndarray


def track_efficiency(abs_id: np.ndarray, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    """Probability that a charged particle (|PDG id|, pT in GeV, |eta|) is reconstructed as a
    track (Delphes CMS card's tables; zero beyond the tracker or below its pT threshold)."""
    barrel = abs_eta <= TRACK_ETA_BARREL
    high = pt > 1.0
    eff = np.zeros(len(pt))
    for table, mask in (
        (TRACK_EFF_HADRON, (abs_id != 11) & (abs_id != 13)),
        (TRACK_EFF_MUON, abs_id == 13),
        (TRACK_EFF_ELECTRON, abs_id == 11),
    ):
        vals = np.where(
            barrel, np.where(high, table[1], table[0]), np.where(high, table[3], table[2])
        )
        eff = np.where(mask, vals, eff)
    very_high = (abs_id == 11) & (pt > TRACK_EFF_ELECTRON_HIGHPT_GEV)
    eff = np.where(very_high, np.where(barrel, *TRACK_EFF_ELECTRON_HIGHPT), eff)
    eff[(pt <= TRACK_PT_MIN) | (abs_eta > TRACKER_ETA_MAX)] = 0.0
    return eff


def _track_resolution(abs_id: np.ndarray, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    ibin = np.searchsorted(np.asarray(TRACK_RES_ETA_EDGES), abs_eta, side="left")
    ibin = np.minimum(ibin, 2)
    res = np.zeros(len(pt))
    for table, mask in (
        (TRACK_RES_HADRON, (abs_id != 11) & (abs_id != 13)),
        (TRACK_RES_ELECTRON, abs_id == 11),
        (TRACK_RES_MUON, abs_id == 13),
    ):
        a = np.asarray([t[0] for t in table])[ibin]
        b = np.asarray([t[1] for t in table])[ibin]
        res = np.where(mask, np.sqrt(a**2 + (b * pt) ** 2), res)
    return res


def ecal_resolution(energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """sigma(E) of the ECAL in GeV (CMS Delphes card)."""
    ae = np.abs(eta)
    c, s, n = ECAL_RES_CSN
    core = np.sqrt((c * energy) ** 2 + s**2 * energy + n**2)
    shape = np.where(ae <= 1.5, 1 + 0.64 * eta**2, 2.16 + 5.6 * (ae - 2) ** 2)
    fc, fs = ECAL_RES_FORWARD_CS
    forward = np.sqrt((fc * energy) ** 2 + fs**2 * energy)
    return np.where(ae <= 2.5, shape * core, forward)


def hcal_resolution(energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """sigma(E) of the HCAL in GeV (CMS Delphes card, |eta| <= 3)."""
    c, s = HCAL_RES_CS
    return np.sqrt((c * energy) ** 2 + s**2 * energy)


def _ecal_fraction(abs_id: np.ndarray) -> np.ndarray:
    frac = np.zeros(len(abs_id))
    for code, f in ECAL_FRACTION.items():
        frac[abs_id == code] = f
    return frac


def _from_pv(charge: np.ndarray, from_lv: np.ndarray) -> np.ndarray:
    return np.where(
        charge != 0, np.where(from_lv, FROM_PV_LEADING, FROM_PV_PILEUP), FROM_PV_NEUTRAL
    ).astype(np.int32)


def _generator_level(p: ParticleArrays) -> CandidateArrays:
    abs_id = np.abs(p.pdg_id)
    visible = ~np.isin(abs_id, _NEUTRINOS)
    ev = np.repeat(np.arange(p.n_events), p.counts)[visible]
    return CandidateArrays(
        counts=np.bincount(ev, minlength=p.n_events).astype(np.int64),
        px=p.px[visible],
        py=p.py[visible],
        pz=p.pz[visible],
        e=p.e[visible],
        mass=p.mass[visible],
        charge=p.charge[visible].astype(np.int32),
        pdg_id=p.pdg_id[visible],
        from_pv=_from_pv(p.charge[visible], p.from_lv[visible]),
        from_lv=p.from_lv[visible].astype(np.uint8),
        lv_fraction=p.from_lv[visible].astype(np.float64),
    )


def _simple(p: ParticleArrays, rng: np.random.Generator) -> CandidateArrays:
    n_ev = p.n_events
    ev_all = np.repeat(np.arange(n_ev), p.counts)
    abs_id = np.abs(p.pdg_id)
    pt, eta, phi = pt_eta_phi(p.px, p.py, p.pz)
    abs_eta = np.abs(eta)
    visible = ~np.isin(abs_id, _NEUTRINOS)
    charged = (p.charge != 0) & visible

    # ---- tracks (random numbers drawn for every particle: reproducible, cheap)
    u = rng.random(len(pt))
    tracked = charged & (u < track_efficiency(abs_id, pt, abs_eta))
    t_idx = np.nonzero(tracked)[0]
    res = _track_resolution(abs_id[t_idx], pt[t_idx], abs_eta[t_idx])
    scale = np.abs(1.0 + res * rng.standard_normal(len(t_idx)))
    t_pt = pt[t_idx] * scale
    t_px, t_py, t_pz = p.px[t_idx] * scale, p.py[t_idx] * scale, p.pz[t_idx] * scale
    t_m = p.mass[t_idx]
    t_e = np.sqrt(t_px**2 + t_py**2 + t_pz**2 + t_m**2)
    del t_pt

    # ---- calorimeter cells
    to_calo = visible & ~tracked & (abs_id != 13) & (abs_eta < CALO_ETA_MAX)
    c_idx = np.nonzero(to_calo)[0]
    ieta = np.clip(((eta[c_idx] + CALO_ETA_MAX) / CALO_DETA).astype(np.int64), 0, CALO_N_ETA - 1)
    iphi = (((phi[c_idx] + np.pi) / CALO_DPHI).astype(np.int64)) % CALO_N_PHI
    key = (ev_all[c_idx] * CALO_N_ETA + ieta) * CALO_N_PHI + iphi
    cells, inv = np.unique(key, return_inverse=True)
    energy = p.e[c_idx]
    f_ecal = _ecal_fraction(abs_id[c_idx])
    e_ecal = np.bincount(inv, energy * f_ecal, minlength=len(cells))
    e_hcal = np.bincount(inv, energy * (1.0 - f_ecal), minlength=len(cells))
    e_lv = np.bincount(inv, energy * p.from_lv[c_idx], minlength=len(cells))
    e_true = e_ecal + e_hcal

    cell_ev = cells // (CALO_N_ETA * CALO_N_PHI)
    cell_ieta = (cells // CALO_N_PHI) % CALO_N_ETA
    cell_iphi = cells % CALO_N_PHI
    # Delphes SmearTowerCenter: a random point inside the cell rather than its centre
    c_eta = -CALO_ETA_MAX + (cell_ieta + rng.random(len(cells))) * CALO_DETA
    c_phi = -np.pi + (cell_iphi + rng.random(len(cells))) * CALO_DPHI

    def smear(e: np.ndarray, sigma: np.ndarray, e_min: float, sig_min: float) -> np.ndarray:
        out = np.maximum(e + sigma * rng.standard_normal(len(e)), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = (out >= e_min) & (out >= sig_min * sigma) & (e > 0)
        return np.where(ok, out, 0.0)

    m_ecal = smear(e_ecal, ecal_resolution(e_ecal, c_eta), ECAL_E_MIN, ECAL_SIGNIFICANCE_MIN)
    m_hcal = smear(e_hcal, hcal_resolution(e_hcal, c_eta), HCAL_E_MIN, HCAL_SIGNIFICANCE_MIN)
    c_e = m_ecal + m_hcal
    ok = c_e > 0
    c_e, c_eta, c_phi, cell_ev = c_e[ok], c_eta[ok], c_phi[ok], cell_ev[ok]
    c_pt = c_e / np.cosh(c_eta)
    c_pdg = np.where(m_ecal[ok] >= m_hcal[ok], 22, 130).astype(np.int32)
    c_lv_fraction = np.clip(e_lv[ok] / e_true[ok], 0.0, 1.0)
    c_lv = (c_lv_fraction >= 0.5).astype(np.uint8)

    # ---- merge tracks and cells, grouped by event (stable: tracks first, then cells)
    ev = np.concatenate([ev_all[t_idx], cell_ev])
    order = np.argsort(ev, kind="stable")
    t_charge = p.charge[t_idx].astype(np.int32)
    n_cells = len(c_e)
    return CandidateArrays(
        counts=np.bincount(ev, minlength=n_ev).astype(np.int64),
        px=np.concatenate([t_px, c_pt * np.cos(c_phi)])[order],
        py=np.concatenate([t_py, c_pt * np.sin(c_phi)])[order],
        pz=np.concatenate([t_pz, c_pt * np.sinh(c_eta)])[order],
        e=np.concatenate([t_e, c_e])[order],
        mass=np.concatenate([t_m, np.zeros(n_cells)])[order],
        charge=np.concatenate([t_charge, np.zeros(n_cells, np.int32)])[order],
        pdg_id=np.concatenate([p.pdg_id[t_idx], c_pdg])[order],
        from_pv=np.concatenate(
            [_from_pv(t_charge, p.from_lv[t_idx]), np.full(n_cells, FROM_PV_NEUTRAL, np.int32)]
        )[order],
        from_lv=np.concatenate([p.from_lv[t_idx].astype(np.uint8), c_lv])[order],
        lv_fraction=np.concatenate([p.from_lv[t_idx].astype(np.float64), c_lv_fraction])[order],
    )


def simulate_detector(
    particles: ParticleArrays, rng: np.random.Generator, detector: str = "simple"
) -> CandidateArrays:
    """Turn final-state particles into particle-flow candidates (``simple``) or keep them (``none``)."""
    if detector == "simple":
        return _simple(particles, rng)
    if detector == "none":
        return _generator_level(particles)
    raise SampleConfigError(f"unknown detector {detector!r}; choose one of: {', '.join(DETECTORS)}")
