"""Fat-jet reconstruction: anti-kT R=0.8 (fastjet, all events in one call), window selection,
substructure (numba) and truth matching to hadronic tops / W / Z."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import awkward as ak
import numba
import numpy as np

from .background import jet_areas
from .detector import CandidateArrays
from .numba_substructure import jet_substructure
from .pythia_events import GenPartArrays, pt_eta_phi

JET_R = 0.8
JET_ETA_MAX = 2.0
#: a parton is "inside" the jet when dR(parton, jet axis) < TRUTH_MATCH_DR
TRUTH_MATCH_DR = 0.8

#: FatJet_truthLabel values
LABEL_QCD = 0
LABEL_TOP = 1
LABEL_W = 2
LABEL_Z = 3

_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout():
    """Swallow fastjet's one-time C++ banner (written to file descriptor 1)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        yield
        return
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True


@dataclass
class FatJets:
    """Selected fat jets (flat, ``counts`` per event) and their constituents (flat, per jet)."""

    counts: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    msoftdrop: np.ndarray
    tau: np.ndarray  # (n_jets, 4)
    n_constituents: np.ndarray
    #: global candidate index (into the flat CandidateArrays) of every constituent, jet by jet
    constituents: np.ndarray
    truth_label: np.ndarray
    truth_pt: np.ndarray
    truth_mass: np.ndarray
    #: the pileup-free jet: the same constituents, each scaled by its leading-vertex energy
    #: fraction (:func:`hepml_coffea.pileup.jets.weighted_jets`)
    hard_pt: np.ndarray
    hard_mass: np.ndarray
    hard_msoftdrop: np.ndarray
    #: active jet area (explicit ghosts, :func:`hepml_coffea.samples.background.jet_areas`)
    area: np.ndarray
    #: mass of the four-vector area
    area_mass: np.ndarray


def hard_jets(
    cands: CandidateArrays,
    constituents: np.ndarray,
    n_constituents: np.ndarray,
    pt: np.ndarray,
    mass: np.ndarray,
    msoftdrop: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pT, mass, msoftdrop) of each jet built from the leading-vertex share of its constituents.

    Jets whose constituents all come entirely from the leading vertex (every jet without
    pileup) are their own pileup-free version and are copied instead of rebuilt."""
    from hepml_coffea.pileup.jets import weighted_jets

    fraction = cands.lv_fraction[constituents]
    jet = np.repeat(np.arange(len(n_constituents)), n_constituents)
    mixed = np.bincount(jet, fraction < 1.0, minlength=len(n_constituents)) > 0
    out = [pt.copy(), mass.copy(), msoftdrop.copy()]
    if mixed.any():
        take = mixed[jet]
        k = constituents[take]
        rebuilt = weighted_jets(
            cands.px[k], cands.py[k], cands.pz[k], cands.e[k], n_constituents[mixed], fraction[take]
        )
        for column, values in zip(out, rebuilt, strict=True):
            column[mixed] = values
    return out[0], out[1], out[2]


def cluster_fatjets(
    cands: CandidateArrays,
    genpart: GenPartArrays,
    pt_min: float,
    pt_max: float,
    area_seed: int = 0,
) -> FatJets:
    """Cluster all events at once, keep jets with pt in [pt_min, pt_max] and |eta| < 2.

    :param area_seed: seeds the jitter of the ghosts that measure the jet areas"""
    import fastjet

    n_ev = len(cands.counts)
    arr = ak.unflatten(
        ak.zip(
            {"px": cands.px, "py": cands.py, "pz": cands.pz, "E": cands.e}, with_name="Momentum4D"
        ),
        cands.counts,
    )
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    # cluster with a loose pt threshold, select the window afterwards
    with _quiet_stdout():
        cs = fastjet.ClusterSequence(arr, jetdef)
        jets = cs.inclusive_jets(min_pt=0.5 * pt_min)
        cidx = cs.constituent_index(min_pt=0.5 * pt_min)
    jpx = ak.to_numpy(ak.flatten(jets.px))
    jpy = ak.to_numpy(ak.flatten(jets.py))
    jpz = ak.to_numpy(ak.flatten(jets.pz))
    je = ak.to_numpy(ak.flatten(jets.E))
    jcounts = ak.to_numpy(ak.num(jets)).astype(np.int64)
    jpt, jeta, jphi = pt_eta_phi(jpx, jpy, jpz)
    jmass = np.sqrt(np.maximum(je**2 - jpx**2 - jpy**2 - jpz**2, 0.0))
    jet_ev = np.repeat(np.arange(n_ev), jcounts)
    sel = (jpt >= pt_min) & (jpt <= pt_max) & (np.abs(jeta) < JET_ETA_MAX)
    # order: by event, then pt descending
    idx = np.nonzero(sel)[0]
    idx = idx[np.lexsort((-jpt[idx], jet_ev[idx]))]
    counts = np.bincount(jet_ev[idx], minlength=n_ev).astype(np.int64)

    # constituents of selected jets -> global candidate indices
    c_counts_all = ak.to_numpy(ak.flatten(ak.num(cidx, axis=2))).astype(np.int64)
    c_flat_local = ak.to_numpy(ak.flatten(cidx, axis=None)).astype(np.int64)
    c_off_all = np.zeros(len(c_counts_all) + 1, np.int64)
    np.cumsum(c_counts_all, out=c_off_all[1:])
    cand_off = np.zeros(n_ev + 1, np.int64)
    np.cumsum(cands.counts, out=cand_off[1:])
    n_const = c_counts_all[idx]
    total = int(n_const.sum())
    starts = np.repeat(c_off_all[idx] - np.cumsum(n_const) + n_const, n_const)
    gather = starts + np.arange(total)
    constituents = c_flat_local[gather] + np.repeat(cand_off[jet_ev[idx]], n_const)

    j_off = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(n_const, out=j_off[1:])
    msd, tau = jet_substructure(
        cands.px[constituents],
        cands.py[constituents],
        cands.pz[constituents],
        cands.e[constituents],
        j_off,
    )
    label, tpt, tmass = match_truth(jeta[idx], jphi[idx], counts, genpart)
    hard = hard_jets(cands, constituents, n_const, jpt[idx], jmass[idx], msd)
    with _quiet_stdout():
        area, area_mass = jet_areas(
            cands, counts, jeta[idx], jphi[idx], constituents, n_const, JET_R, area_seed
        )
    return FatJets(
        counts=counts,
        pt=jpt[idx],
        eta=jeta[idx],
        phi=jphi[idx],
        mass=jmass[idx],
        msoftdrop=msd,
        tau=tau,
        n_constituents=n_const,
        constituents=constituents,
        truth_label=label,
        truth_pt=tpt,
        truth_mass=tmass,
        hard_pt=hard[0],
        hard_mass=hard[1],
        hard_msoftdrop=hard[2],
        area=area,
        area_mass=area_mass,
    )


@numba.njit(cache=True, inline="always")
def _inside(eta, phi, jeta, jphi, r2):  # pragma: no cover - numba
    dphi = abs(phi - jphi)
    if dphi > np.pi:
        dphi = 2 * np.pi - dphi
    return (eta - jeta) ** 2 + dphi * dphi < r2


@numba.njit(cache=True)
def _match_kernel(
    jeta, jphi, j_off, g_off, gid, gmother, geta, gphi, gpt, gmass, r
):  # pragma: no cover
    n_jets = len(jeta)
    label = np.zeros(n_jets, np.int32)
    tpt = np.zeros(n_jets, np.float64)
    tmass = np.zeros(n_jets, np.float64)
    r2 = r * r
    for ev in range(len(j_off) - 1):
        g0, g1 = g_off[ev], g_off[ev + 1]
        if g1 == g0:
            continue
        for jj in range(j_off[ev], j_off[ev + 1]):
            best_label = 0
            best = -1
            # priority: top (1) > W (2) > Z (3)
            for want in (6, 24, 23):
                if best >= 0:
                    break
                for g in range(g0, g1):
                    if abs(gid[g]) != want:
                        continue
                    local = g - g0
                    n_q = 0
                    n_in = 0
                    has_b = False
                    has_w = False
                    for d in range(g0, g1):
                        if gmother[d] != local:
                            continue
                        ad = abs(gid[d])
                        if ad <= 5 and want != 6:
                            n_q += 1
                            if _inside(geta[d], gphi[d], jeta[jj], jphi[jj], r2):
                                n_in += 1
                        elif want == 6 and ad == 5:
                            has_b = True
                            n_q += 1
                            if _inside(geta[d], gphi[d], jeta[jj], jphi[jj], r2):
                                n_in += 1
                        elif want == 6 and ad == 24:
                            wl = d - g0
                            nwq = 0
                            for q in range(g0, g1):
                                if gmother[q] == wl and abs(gid[q]) <= 5:
                                    nwq += 1
                                    n_q += 1
                                    if _inside(geta[q], gphi[q], jeta[jj], jphi[jj], r2):
                                        n_in += 1
                            has_w = nwq == 2
                    if want == 6:
                        ok = has_b and has_w and n_q == 3 and n_in == 3
                    else:
                        ok = n_q == 2 and n_in == 2
                    if ok:
                        best = g
                        best_label = 1 if want == 6 else (2 if want == 24 else 3)
                        break
            if best >= 0:
                label[jj] = best_label
                tpt[jj] = gpt[best]
                tmass[jj] = gmass[best]
    return label, tpt, tmass


def match_truth(
    jet_eta: np.ndarray, jet_phi: np.ndarray, jet_counts: np.ndarray, genpart: GenPartArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(truthLabel, truthPt, truthMass)`` per jet: top (1) if b and both W quarks are within
    dR < 0.8 of the jet axis, else W (2) / Z (3) if both its quarks are; 0 otherwise."""
    j_off = np.zeros(len(jet_counts) + 1, np.int64)
    np.cumsum(jet_counts, out=j_off[1:])
    g_off = np.zeros(len(genpart.counts) + 1, np.int64)
    np.cumsum(genpart.counts, out=g_off[1:])
    return _match_kernel(
        np.asarray(jet_eta, np.float64),
        np.asarray(jet_phi, np.float64),
        j_off,
        g_off,
        genpart.pdg_id.astype(np.int64),
        genpart.mother.astype(np.int64),
        genpart.eta.astype(np.float64),
        genpart.phi.astype(np.float64),
        genpart.pt.astype(np.float64),
        genpart.mass.astype(np.float64),
        TRUTH_MATCH_DR,
    )
