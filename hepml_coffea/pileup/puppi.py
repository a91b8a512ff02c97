"""PUPPI weights (Bertolini, Harris, Low, Tran, arXiv:1407.6013), with tracking ("alpha_C").

For every candidate i, alpha_i = log sum_j (pT_j / dR_ij)^2 over the charged leading-vertex
candidates j with R_MIN < dR_ij < R0 (empty sum: alpha = -inf). Per event, the median and RMS
(about the median) of alpha over the charged pileup candidates calibrate what pileup looks
like; a neutral candidate gets chi2 = (alpha_i - median)^2 / RMS^2 if alpha_i > median, else 0,
and the weight w = F_chi2,1(chi2) (the chi-square CDF with one degree of freedom), set to 0
below W_CUT. Charged candidates get their vertex association: 1 from the leading vertex, 0 from
pileup.

Only candidates whose whole R0 cone is stored take part in the calibration: the files keep the
candidates within 1.2 of a saved jet axis, so charged pileup within CALIBRATION_DR = 0.9 of a jet
axis. Without pileup to calibrate on (fewer than MIN_CALIBRATION such candidates, e.g. no
pileup at all) every neutral keeps weight 1. Simplifications against CMS: one alpha definition
everywhere (beyond the tracker, |eta| > 2.5, neutrals see no charged neighbours and get weight
0) and no pT cut depending on the number of vertices.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from hepml_coffea.pileup.candidates import JetCandidates

R0 = 0.3
R_MIN = 0.01
W_CUT = 0.01
CALIBRATION_DR = 0.9
MIN_CALIBRATION = 3
FROM_PV_LEADING = 3
FROM_PV_PILEUP = 0


@numba.vectorize(["float64(float64)"], cache=True)
def _erf(x):  # pragma: no cover - numba
    return math.erf(x)


@numba.njit(cache=True)
def _alpha_kernel(offsets, eta, phi, pt, is_lv_charged, r0, r_min):  # pragma: no cover - numba
    n = len(eta)
    alpha = np.full(n, -np.inf)
    for ev in range(len(offsets) - 1):
        lo, hi = offsets[ev], offsets[ev + 1]
        lv = np.empty(hi - lo, np.int64)
        n_lv = 0
        for j in range(lo, hi):
            if is_lv_charged[j]:
                lv[n_lv] = j
                n_lv += 1
        for i in range(lo, hi):
            s = 0.0
            for k in range(n_lv):
                j = lv[k]
                if j == i:
                    continue
                dphi = abs(phi[i] - phi[j])
                if dphi > np.pi:
                    dphi = 2 * np.pi - dphi
                dr2 = (eta[i] - eta[j]) ** 2 + dphi * dphi
                if r_min * r_min < dr2 < r0 * r0:
                    s += pt[j] * pt[j] / dr2
            if s > 0:
                alpha[i] = np.log(s)
    return alpha


def puppi_alpha(cands: JetCandidates) -> np.ndarray:
    """alpha_C of every candidate (see the module docstring)."""
    offsets = np.zeros(len(cands.counts) + 1, np.int64)
    np.cumsum(cands.counts, out=offsets[1:])
    lv_charged = (cands.charge != 0) & (cands.from_pv == FROM_PV_LEADING)
    return _alpha_kernel(offsets, cands.eta, cands.phi, cands.pt, lv_charged, R0, R_MIN)


def near_jet_axis(cands: JetCandidates, dr: float) -> np.ndarray:
    """Whether each candidate lies within ``dr`` of a jet axis of its event."""
    near = np.zeros(len(cands.pt), bool)
    jet_event = np.repeat(np.arange(len(cands.jet_counts)), cands.jet_counts)
    c_off = np.cumsum(cands.counts) - cands.counts
    for_jet = cands.counts[jet_event]
    jet = np.repeat(np.arange(len(jet_event)), for_jet)
    cand = np.repeat(c_off[jet_event] - (np.cumsum(for_jet) - for_jet), for_jet) + np.arange(
        int(for_jet.sum())
    )
    dphi = np.mod(cands.phi[cand] - cands.jet_phi[jet] + np.pi, 2 * np.pi) - np.pi
    close = (cands.eta[cand] - cands.jet_eta[jet]) ** 2 + dphi**2 < dr * dr
    near[cand[close]] = True
    return near


def puppi_weights(cands: JetCandidates) -> np.ndarray:
    """PUPPI weight of every candidate."""
    alpha = puppi_alpha(cands)
    n_ev = len(cands.counts)
    charged = cands.charge != 0
    calibrate = (
        charged
        & (cands.from_pv == FROM_PV_PILEUP)
        & np.isfinite(alpha)
        & near_jet_axis(cands, CALIBRATION_DR)
    )
    median, rms = np.zeros(n_ev), np.zeros(n_ev)
    n_cal = np.bincount(cands.event[calibrate], minlength=n_ev)
    order = np.lexsort((alpha[calibrate], cands.event[calibrate]))
    values = alpha[calibrate][order]
    starts = np.cumsum(n_cal) - n_cal
    ok = n_cal >= MIN_CALIBRATION
    lo = starts[ok] + (n_cal[ok] - 1) // 2
    hi = starts[ok] + n_cal[ok] // 2
    median[ok] = 0.5 * (values[lo] + values[hi])
    cal_event = cands.event[calibrate][order]
    dev2 = np.bincount(cal_event, (values - median[cal_event]) ** 2, minlength=n_ev)
    rms[ok] = np.sqrt(dev2[ok] / n_cal[ok])
    ev = cands.event
    calibrated = ok[ev] & (rms[ev] > 0)
    with np.errstate(invalid="ignore"):
        above = np.where(np.isfinite(alpha), alpha - median[ev], -np.inf)
        x = np.where(above > 0, above / np.where(rms[ev] > 0, rms[ev], 1.0), 0.0)
    w = _erf(x / np.sqrt(2.0))  # chi2 CDF, 1 dof, at x^2
    w = np.where(w < W_CUT, 0.0, w)
    w = np.where(calibrated, w, 1.0)
    return np.where(charged, np.where(cands.from_pv == FROM_PV_PILEUP, 0.0, 1.0), w)
