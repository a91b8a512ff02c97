"""What pileup mitigation needs from the full event, computed at generation (files keep only
the candidates around the saved jets): the event's rho, the jets' areas and the candidates around
each jet.

* rho and rho_m: fastjet's ``GridMedianBackgroundEstimator`` (grid spacing 0.55 up to |y| < 3,
  the calorimeter acceptance; CMS's ``fixedGridRhoFastjetAll`` uses 0.55 up to 5). The estimator
  only sees per-tile sums, so each event's candidates are first summed per tile in numpy and the
  estimator gets one pseudo-particle per non-empty tile, at the tile's centre, with the tile's
  scalar pT sum and a mass that gives the tile's sum of (m_T - pT): the same rho and rho_m as
  feeding it every candidate (tested), at a fraction of the cost of one Python PseudoJet each.
* jet areas: active areas (and the mass of the four-vector area) with explicit ghosts (ghost area 0.01 = 0.1 x 0.1, jittered in the
  cell, as fastjet's ``GhostedAreaSpec``) clustered with the real candidates by fastjet's
  awkward interface. Only the region around each saved jet is reclustered (candidates within
  ``AREA_REGION_DR`` of its axis, ghosts within ``AREA_GHOST_DR``): anti-kT jets depend only on
  their neighbourhood, and the real constituents of the reclustered jet are checked to be the
  saved jet's.
"""

from __future__ import annotations

from typing import NamedTuple

import awkward as ak
import numpy as np

from .detector import CandidateArrays
from .pythia_events import pt_eta_phi

RHO_GRID_SPACING = 0.55
RHO_RAP_MAX = 3.0
CHS_RAP_MAX = 2.5  # the tracker acceptance
GHOST_SPACING = 0.1  # ghost area 0.01
GHOST_PT = 1e-30  # GeV: soft enough not to move any jet, hard enough for double precision
AREA_REGION_DR = 2.4  # 3 R: real candidates reclustered with the ghosts
AREA_GHOST_DR = 1.1  # ghosts placed around each jet axis
#: candidates within this distance of a saved jet's axis are stored (PUPPI's neighbours of
#: constituents up to 0.9 from the axis, with its 0.3 cone)
NEIGHBOUR_DR = 1.2


def rapidity(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray) -> np.ndarray:
    mt2 = np.maximum(e * e - pz * pz, 1e-300)
    return 0.5 * np.log(np.maximum((e + pz) ** 2 / mt2, 1e-300))


def _grid(rapmax: float, spacing: float) -> tuple[int, float, int, float]:
    """fastjet RectangularGrid's rounding: (n_y, dy, n_phi, dphi)."""
    ny = max(int(2 * rapmax / spacing + 0.5), 1)
    nphi = int(2 * np.pi / spacing + 0.5)
    return ny, 2 * rapmax / ny, nphi, 2 * np.pi / nphi


def event_rho(
    cands: CandidateArrays, select: np.ndarray | None = None, rapmax: float = RHO_RAP_MAX
) -> tuple[np.ndarray, np.ndarray]:
    """Per event (rho, rho_m) in GeV from fastjet's GridMedianBackgroundEstimator over the
    candidates in ``select`` (all by default), grid up to |y| < ``rapmax``."""
    import fastjet

    n_ev = len(cands.counts)
    event = np.repeat(np.arange(n_ev), cands.counts)
    px, py, pz, e, m = cands.px, cands.py, cands.pz, cands.e, cands.mass
    if select is not None:
        event, px, py, pz, e, m = (a[select] for a in (event, px, py, pz, e, m))
    ny, dy, nphi, dphi = _grid(rapmax, RHO_GRID_SPACING)
    y = rapidity(px, py, pz, e)
    phi = np.mod(np.arctan2(py, px), 2 * np.pi)
    iy = np.floor((y + rapmax) / dy).astype(np.int64)
    iphi = np.minimum((phi / dphi).astype(np.int64), nphi - 1)
    inside = (iy >= 0) & (iy < ny)
    pt = np.hypot(px, py)
    mt_minus_pt = np.sqrt(pt**2 + m**2) - pt
    key = (event * ny + iy) * nphi + iphi
    tiles, inv = np.unique(key[inside], return_inverse=True)
    sum_pt = np.bincount(inv, pt[inside], minlength=len(tiles))
    sum_m = np.bincount(inv, mt_minus_pt[inside], minlength=len(tiles))
    t_event = tiles // (ny * nphi)
    t_y = -rapmax + ((tiles // nphi) % ny + 0.5) * dy
    t_phi = (tiles % nphi + 0.5) * dphi
    mt = sum_pt + sum_m
    t_px, t_py = sum_pt * np.cos(t_phi), sum_pt * np.sin(t_phi)
    t_pz, t_e = mt * np.sinh(t_y), mt * np.cosh(t_y)
    bounds = np.searchsorted(t_event, np.arange(n_ev + 1))
    rho, rho_m = np.zeros(n_ev), np.zeros(n_ev)
    estimator = fastjet.GridMedianBackgroundEstimator(rapmax, RHO_GRID_SPACING)
    estimator.set_compute_rho_m(True)
    for ev in range(n_ev):
        lo, hi = bounds[ev], bounds[ev + 1]
        particles = fastjet.vectorPJ(
            [
                fastjet.PseudoJet(a, b, c, d)
                for a, b, c, d in zip(
                    t_px[lo:hi].tolist(),
                    t_py[lo:hi].tolist(),
                    t_pz[lo:hi].tolist(),
                    t_e[lo:hi].tolist(),
                    strict=True,
                )
            ]
        )
        estimator.set_particles(particles)
        rho[ev], rho_m[ev] = estimator.rho(), estimator.rho_m()
    return rho, rho_m


def _pairs_within(
    c_event: np.ndarray,
    c_eta: np.ndarray,
    c_phi: np.ndarray,
    j_event: np.ndarray,
    j_eta: np.ndarray,
    j_phi: np.ndarray,
    dr: float,
    n_ev: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate, jet) index pairs of the same event closer than ``dr`` in (eta, phi)."""
    c_counts = np.bincount(c_event, minlength=n_ev)
    j_counts = np.bincount(j_event, minlength=n_ev)
    c_off = np.cumsum(c_counts) - c_counts
    j_off = np.cumsum(j_counts) - j_counts
    # every (jet, candidate of its event) pair
    per_jet = c_counts[j_event]
    jet = np.repeat(np.arange(len(j_event)), per_jet)
    cand = np.repeat(c_off[j_event] - (np.cumsum(per_jet) - per_jet), per_jet) + np.arange(
        int(per_jet.sum())
    )
    del j_off
    dphi = np.mod(c_phi[cand] - j_phi[jet] + np.pi, 2 * np.pi) - np.pi
    close = (c_eta[cand] - j_eta[jet]) ** 2 + dphi**2 < dr * dr
    return cand[close], jet[close]


def neighbour_candidates(
    cands: CandidateArrays, jet_counts: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray
) -> np.ndarray:
    """Global indices of the candidates within :data:`NEIGHBOUR_DR` of any saved jet's axis,
    sorted (each once)."""
    n_ev = len(cands.counts)
    c_event = np.repeat(np.arange(n_ev), cands.counts)
    _, eta, phi = pt_eta_phi(cands.px, cands.py, cands.pz)
    j_event = np.repeat(np.arange(n_ev), jet_counts)
    cand, _ = _pairs_within(c_event, eta, phi, j_event, jet_eta, jet_phi, NEIGHBOUR_DR, n_ev)
    return np.unique(cand)


def jet_areas(
    cands: CandidateArrays,
    jet_counts: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    jet_constituents: np.ndarray,
    jet_n_constituents: np.ndarray,
    radius: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Active area of every saved jet (anti-kT, ``radius``) from explicit ghosts, and the mass of
    its four-vector area (the sum of its ghosts' momenta, each of pT equal to its cell's area;
    about area x R / sqrt(2) for a disk), which the area-median mass subtraction needs.

    :param jet_constituents: global candidate indices of the saved jets' constituents, jet by jet
    :param seed: seeds the ghost jitter (its own generator: the event content does not depend on it)
    """
    import fastjet

    n_jets = len(jet_eta)
    if n_jets == 0:
        return np.zeros(0), np.zeros(0)
    n_ev = len(cands.counts)
    c_event = np.repeat(np.arange(n_ev), cands.counts)
    _, c_eta, c_phi = pt_eta_phi(cands.px, cands.py, cands.pz)
    j_event = np.repeat(np.arange(n_ev), jet_counts)
    cand, _ = _pairs_within(c_event, c_eta, c_phi, j_event, jet_eta, jet_phi, AREA_REGION_DR, n_ev)
    cand = np.unique(cand)

    # ghosts: one per cell of a GHOST_SPACING grid anchored at the origin (so overlapping disks
    # share cells) whose centre lies within AREA_GHOST_DR of a jet axis, jittered in its cell
    half = int(np.ceil(AREA_GHOST_DR / GHOST_SPACING)) + 1
    steps = np.arange(-half, half + 1)
    dy, dphi = (a.ravel() for a in np.meshgrid(steps, steps, indexing="ij"))
    iy = np.floor(jet_eta / GHOST_SPACING).astype(np.int64)[:, None] + dy[None, :]
    iphi = np.floor(jet_phi / GHOST_SPACING).astype(np.int64)[:, None] + dphi[None, :]
    centre_y, centre_phi = (iy + 0.5) * GHOST_SPACING, (iphi + 0.5) * GHOST_SPACING
    disk = (centre_y - jet_eta[:, None]) ** 2 + (
        centre_phi - jet_phi[:, None]
    ) ** 2 < AREA_GHOST_DR**2
    g_event = np.broadcast_to(j_event[:, None], disk.shape)[disk]
    key = np.unique(np.stack([g_event, iy[disk], iphi[disk]], 1), axis=0)
    rng = np.random.default_rng(seed)
    g_event = key[:, 0]
    g_y = (key[:, 1] + rng.random(len(key))) * GHOST_SPACING
    g_phi = (key[:, 2] + rng.random(len(key))) * GHOST_SPACING

    n_real = len(cand)
    ev = np.concatenate([c_event[cand], g_event])
    order = np.argsort(ev, kind="stable")
    px = np.concatenate([cands.px[cand], GHOST_PT * np.cos(g_phi)])[order]
    py = np.concatenate([cands.py[cand], GHOST_PT * np.sin(g_phi)])[order]
    pz = np.concatenate([cands.pz[cand], GHOST_PT * np.sinh(g_y)])[order]
    e = np.concatenate([cands.e[cand], GHOST_PT * np.cosh(g_y)])[order]
    is_ghost = (np.arange(len(ev)) >= n_real)[order]
    origin = np.concatenate([cand, np.full(len(g_event), -1)])[order]
    counts = np.bincount(ev, minlength=n_ev)
    arr = ak.unflatten(
        ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"), counts
    )
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    cidx = cs.constituent_index(min_pt=0.0)
    offsets = np.cumsum(counts) - counts
    n_sub = ak.to_numpy(ak.num(cidx, axis=1))
    sub_event = np.repeat(np.arange(n_ev), n_sub)
    sizes = ak.to_numpy(ak.flatten(ak.num(cidx, axis=2)))
    members = ak.to_numpy(ak.flatten(cidx, axis=None)) + np.repeat(offsets[sub_event], sizes)
    member_jet = np.repeat(np.arange(len(sizes)), sizes)
    n_ghosts = np.bincount(member_jet, is_ghost[members], minlength=len(sizes))
    # four-vector area: the ghosts' momenta, each ghost carrying pT = its cell's area
    ghost_weight = np.where(is_ghost[members], GHOST_SPACING**2 / GHOST_PT, 0.0)
    area4 = [
        np.bincount(member_jet, ghost_weight * v[members], minlength=len(sizes))
        for v in (px, py, pz, e)
    ]
    # the reclustered jet of each saved jet: the one holding most of its constituents (the same
    # constituents but in rare near-tie cases, tests/samples/test_samples_pileup.py)
    holder = np.full(int(cands.counts.sum()), -1)
    real = ~is_ghost[members]
    holder[origin[members[real]]] = member_jet[real]
    saved_jet = np.repeat(np.arange(n_jets), jet_n_constituents)
    held = holder[jet_constituents]
    pairs, votes = np.unique(np.stack([saved_jet, held], 1), axis=0, return_counts=True)
    best = np.lexsort((-votes, pairs[:, 0]))
    first_of_jet = np.searchsorted(pairs[best, 0], np.arange(n_jets))
    sub = pairs[best, 1][first_of_jet]
    a_px, a_py, a_pz, a_e = (v[sub] for v in area4)
    area_mass = np.sqrt(np.maximum(a_e**2 - a_px**2 - a_py**2 - a_pz**2, 0.0))
    return n_ghosts[sub] * GHOST_SPACING**2, area_mass


class EventPileupInputs(NamedTuple):
    """Per-event inputs of the pileup-mitigation baselines, and the extra candidates to store."""

    #: rho (GeV per unit area) of every candidate: CMS's ``fixedGridRhoFastjetAll``
    rho_all: np.ndarray
    #: rho and rho_m of the CHS event (charged pileup candidates removed) within the tracker,
    #: |y| < 2.5 (beyond it charged pileup cannot be removed)
    rho_chs: np.ndarray
    rho_m_chs: np.ndarray
    #: SoftKiller pT cut (GeV) of the CHS event (:mod:`hepml_coffea.pileup.softkiller`)
    softkiller_cut: np.ndarray
    #: global indices of the candidates near a saved jet that are not its constituents
    neighbours: np.ndarray


def event_pileup_inputs(
    cands: CandidateArrays,
    jet_counts: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    constituents: np.ndarray,
) -> EventPileupInputs:
    """Everything the pileup baselines need that the stored candidates alone cannot give."""
    from hepml_coffea.pileup.softkiller import softkiller_cut

    from .detector import FROM_PV_PILEUP

    chs = cands.from_pv != FROM_PV_PILEUP
    rho_all, _ = event_rho(cands)
    rho_chs, rho_m_chs = event_rho(cands, chs, CHS_RAP_MAX)
    pt, eta, phi = pt_eta_phi(cands.px, cands.py, cands.pz)
    event = np.repeat(np.arange(len(cands.counts)), cands.counts)
    cut = softkiller_cut(
        np.bincount(event[chs], minlength=len(cands.counts)), pt[chs], eta[chs], phi[chs]
    )
    near = neighbour_candidates(cands, jet_counts, jet_eta, jet_phi)
    return EventPileupInputs(
        rho_all, rho_chs, rho_m_chs, cut, np.setdiff1d(near, constituents, assume_unique=True)
    )
