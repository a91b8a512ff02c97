"""Figures of merit of unbinned scores (numpy arrays of scores, truth labels and jet masses),
read from the same histograms an analysis fills (:func:`mass_score_hists`), with bootstrap spreads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from hepml_coffea.decorrelation.histograms import mass_score_hists
from hepml_coffea.decorrelation.metrics import (
    inv_jsd,
    inv_jsd50,
    inv_jsd_ceiling,
    inv_jsd_ceiling_curve,
    r50,
    rejection,
)
from hepml_coffea.decorrelation.target import target_fraction


def r50_inv_jsd50(scores: np.ndarray, labels: np.ndarray, mass: np.ndarray) -> tuple[float, float]:
    """(R50, 1/JSD50) of ``scores`` in [0, 1] (labels: 1 signal, 0 background)."""
    signal, background = mass_score_hists(scores, labels, mass)
    return r50(signal, background), inv_jsd50(signal, background)


def measure(scores: np.ndarray, labels: np.ndarray, mass: np.ndarray) -> dict[str, float]:
    """``r50``, ``inv_jsd50`` and the ``inv_jsd50_ceiling`` of the background jets at that R50."""
    signal, background = mass_score_hists(scores, labels, mass)
    rejection_50 = r50(signal, background)
    return {
        "r50": rejection_50,
        "inv_jsd50": inv_jsd50(signal, background),
        "inv_jsd50_ceiling": inv_jsd_ceiling(background, 1.0 / rejection_50),
    }


def ceiling_curve(
    scores: np.ndarray, labels: np.ndarray, mass: np.ndarray, plain_r50: float
) -> dict[str, list[float]]:
    """The 1/JSD50 ceiling of the background jets at 25 R50 values from 5 to twice the plain
    tagger's ``plain_r50`` (the R50 range of :func:`~hepml_coffea.decorrelation.target_plane`)."""
    grid = np.geomspace(5.0, 2 * plain_r50, 25)
    background = mass_score_hists(scores, labels, mass)[1]
    return {"r50": grid.tolist(), "inv_jsd50": inv_jsd_ceiling_curve(background, grid).tolist()}


def working_points(
    scores: np.ndarray, labels: np.ndarray, mass: np.ndarray, signal_efficiencies: Sequence[float]
) -> dict[str, dict[str, float]]:
    """``rejection`` and ``inv_jsd`` at each signal efficiency, keyed by the efficiency (``"0.3"``)."""
    signal, background = mass_score_hists(scores, labels, mass)
    return {
        f"{e:g}": {
            "rejection": rejection(signal, background, e),
            "inv_jsd": inv_jsd(signal, background, e),
        }
        for e in signal_efficiencies
    }


def top_window_excess(
    scores: np.ndarray, labels: np.ndarray, mass: np.ndarray, window: tuple[float, float]
) -> float:
    """How much more often the background jets passing the 50 % signal cut fall in the mass ``window``
    [GeV] than all background jets: the height of the fake peak a bump hunt would see (1: none)."""
    cut = np.quantile(scores[labels == 1], 0.5)
    background, background_mass = scores[labels == 0], mass[labels == 0]
    in_window = (background_mass >= window[0]) & (background_mass < window[1])
    return float(in_window[background > cut].mean() / in_window.mean())


def resampled_rows(n: int, resamplings: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``resamplings`` bootstrap resamplings (row indices, with replacement) of ``n`` jets."""
    return (rng.integers(0, n, n) for _ in range(resamplings))


def bootstrap_std(
    plain: np.ndarray,
    chosen: np.ndarray,
    labels: np.ndarray,
    mass: np.ndarray,
    resamplings: int,
    seed: int = 0,
) -> dict[str, float]:
    """Standard deviations of ``chosen``'s ``r50``, ``inv_jsd50`` and ``target_fraction`` over
    resampled jets, the plain tagger's scores resampled with them."""
    values = []
    for rows in resampled_rows(len(labels), resamplings, np.random.default_rng(seed)):
        plain_point = measure(plain[rows], labels[rows], mass[rows])
        point = measure(chosen[rows], labels[rows], mass[rows])
        values.append((point["r50"], point["inv_jsd50"], target_fraction(point, plain_point)))
    return dict(
        zip(("r50", "inv_jsd50", "target_fraction"), np.std(values, axis=0).tolist(), strict=False)
    )
