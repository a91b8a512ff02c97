"""SoftKiller (Cacciari, Salam, Soyez, arXiv:1407.0408), columnar in numpy.

The event is divided into patches of a rectangular (eta, phi) grid; the pT cut is the median over
all patches (empty ones count, with 0) of the largest candidate pT in each patch. Removing every
candidate with ``pt <= cut`` then leaves at least half of the patches empty, so the median of the
per-patch maxima becomes zero: the smallest cut with that property. fastjet-contrib's
SoftKiller is not exposed to Python, hence this implementation.

Median convention: with ``n`` patches, the cut is the ``ceil(n / 2)``-th smallest maximum (the
lower median), and candidates strictly above it survive.
"""

from __future__ import annotations

import numpy as np

#: grid spacing in eta and phi (the PileupWorkshop 2014 comparison used 0.5)
GRID_SPACING = 0.5
#: grid extent in |eta|: the calorimeter acceptance of the generator's detector
GRID_ETA_MAX = 3.0


def grid_shape(spacing: float = GRID_SPACING, eta_max: float = GRID_ETA_MAX) -> tuple[int, int]:
    """(eta patches, phi patches), rounded to the nearest whole number as fastjet's grids do."""
    return max(int(2 * eta_max / spacing + 0.5), 1), max(int(2 * np.pi / spacing + 0.5), 1)


def patch_index(
    eta: np.ndarray,
    phi: np.ndarray,
    spacing: float = GRID_SPACING,
    eta_max: float = GRID_ETA_MAX,
) -> np.ndarray:
    """Patch of every candidate (-1 outside |eta| < eta_max)."""
    n_eta, n_phi = grid_shape(spacing, eta_max)
    ieta = np.floor((np.asarray(eta) + eta_max) / (2 * eta_max / n_eta)).astype(np.int64)
    iphi = np.floor(np.mod(np.asarray(phi), 2 * np.pi) / (2 * np.pi / n_phi)).astype(np.int64)
    iphi = np.minimum(iphi, n_phi - 1)
    return np.where((ieta >= 0) & (ieta < n_eta), ieta * n_phi + iphi, -1)


def patch_maxima(
    counts: np.ndarray,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    spacing: float = GRID_SPACING,
    eta_max: float = GRID_ETA_MAX,
) -> np.ndarray:
    """``(n_events, n_patches)`` largest candidate pT per patch (0 for empty patches)."""
    n_eta, n_phi = grid_shape(spacing, eta_max)
    n_patches = n_eta * n_phi
    counts = np.asarray(counts, np.int64)
    event = np.repeat(np.arange(len(counts)), counts)
    patch = patch_index(eta, phi, spacing, eta_max)
    inside = patch >= 0
    out = np.zeros(len(counts) * n_patches)
    np.maximum.at(out, event[inside] * n_patches + patch[inside], np.asarray(pt)[inside])
    return out.reshape(len(counts), n_patches)


def lower_median(values: np.ndarray) -> np.ndarray:
    """Per row, the ``ceil(n / 2)``-th smallest of ``n`` values."""
    n = values.shape[1]
    k = (n + 1) // 2 - 1
    return np.partition(values, k, axis=1)[:, k]


def softkiller_cut(
    counts: np.ndarray,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    spacing: float = GRID_SPACING,
    eta_max: float = GRID_ETA_MAX,
) -> np.ndarray:
    """Per event, the SoftKiller pT cut (GeV) of the candidates given (flat, ``counts`` per event)."""
    return lower_median(patch_maxima(counts, pt, eta, phi, spacing, eta_max))
