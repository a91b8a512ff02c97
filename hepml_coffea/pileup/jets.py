"""Jets rebuilt from per-candidate weights: the one function every pileup method goes through.

A weight ``w`` in [0, 1] scales a candidate's four-momentum (``w p``), as CMS does with
``PFCands_puppiWeight``: ``w = 0`` removes it (CHS, SoftKiller), ``w = 1`` keeps it, and a
fraction keeps that share of it (PUPPI, PUMML, and the pileup-free truth, where ``w`` is the
candidate's leading-vertex energy fraction). The jet's pT and mass are those of the weighted
four-momentum sum; its soft-drop mass is soft drop (beta = 0, z_cut = 0.1, R0 = 0.8, the
generator's settings) on the C/A reclustering of the weighted constituents, candidates of weight
0 dropped. With every weight 1 this reproduces the jet's stored pT, mass and msoftdrop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hepml_coffea.samples.numba_substructure import softdrop_masses


class WeightedJets(NamedTuple):
    """pT, mass and soft-drop mass (GeV) per jet."""

    pt: np.ndarray
    mass: np.ndarray
    msoftdrop: np.ndarray


def scale_four_momenta(pt, mass, weights):
    """Candidates' four-momenta scaled by their weights, ``w p``, in (pT, eta, phi, mass): pT and
    mass times ``w``, eta and phi unchanged. The same scaling as :func:`weighted_jets` sums in
    (px, py, pz, E); works on numpy and awkward arrays alike."""
    return pt * weights, mass * weights


def jet_four_momenta(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(px, py, pz, E) per jet of the weighted constituents (arguments as :func:`weighted_jets`)."""
    counts = np.asarray(counts, np.int64)
    w = np.asarray(weights, np.float64)
    jet = np.repeat(np.arange(len(counts)), counts)
    n = len(counts)
    jpx, jpy, jpz, je = (
        np.bincount(jet, w * np.asarray(v, np.float64), minlength=n) for v in (px, py, pz, e)
    )
    return jpx, jpy, jpz, je


def weighted_jets(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
) -> WeightedJets:
    """Jets from their constituents scaled by ``weights``.

    :param px, py, pz, e: constituents, grouped jet by jet (``counts[j]`` of them for jet ``j``)
    :param counts: constituents per jet
    :param weights: one weight per constituent, in [0, 1]
    """
    counts = np.asarray(counts, np.int64)
    w = np.asarray(weights, np.float64)
    jet = np.repeat(np.arange(len(counts)), counts)
    n = len(counts)
    jpx, jpy, jpz, je = jet_four_momenta(px, py, pz, e, counts, w)
    pt = np.hypot(jpx, jpy)
    mass = np.sqrt(np.maximum(je**2 - jpx**2 - jpy**2 - jpz**2, 0.0))
    keep = w > 0
    kept_counts = np.bincount(jet[keep], minlength=n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(kept_counts, out=offsets[1:])
    wk = w[keep]
    msd = softdrop_masses(
        np.asarray(px)[keep] * wk,
        np.asarray(py)[keep] * wk,
        np.asarray(pz)[keep] * wk,
        np.asarray(e)[keep] * wk,
        offsets,
    )
    return WeightedJets(pt, mass, msd)
