"""R50, 1/JSD50, its finite-statistics ceiling and dCor², read from (mass, score) histograms.

The conventions (which cuts are possible, what counts flow bins) are in
:mod:`hepml_coffea.decorrelation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import hist
import numpy as np
from numpy.typing import ArrayLike

from hepml_coffea.decorrelation.histograms import MASS, SCORE, check_axes, flow_values, in_range
from hepml_coffea.errors import HistogramError


@dataclass(frozen=True)
class WorkingPoint:
    """A cut ``score >= threshold`` and the signal and background fractions that pass it."""

    threshold: float
    signal_efficiency: float
    background_efficiency: float


def _score_edges(signal: hist.Hist, background: hist.Hist) -> np.ndarray:
    check_axes(signal)
    check_axes(background)
    signal_axis, background_axis = signal.axes[SCORE], background.axes[SCORE]
    if (
        not np.array_equal(signal_axis.edges, background_axis.edges)
        or signal_axis.traits != background_axis.traits
    ):
        raise HistogramError(
            "signal and background must have the same score binning; fill them with the same axis"
        )
    return signal_axis.edges


def _pass_fraction(values: np.ndarray, score_axis) -> np.ndarray:
    """Fraction of the total weight with score >= each edge of ``score_axis`` (len(axis) + 1 values)."""
    per_score = values.sum(axis=0)
    total = per_score.sum()
    if total <= 0:
        raise HistogramError("the histogram is empty (its weights sum to zero or less)")
    above = np.append(
        np.cumsum(per_score[::-1])[::-1], 0.0
    )  # above[i]: weight in flow-array bins >= i
    start = int(score_axis.traits.underflow)
    return above[start : start + len(score_axis) + 1] / total


def indexed_working_point(
    signal: hist.Hist, background: hist.Hist, signal_efficiency: float
) -> tuple[int, WorkingPoint]:
    """The :func:`working_point` and the index of its edge on the score axis."""
    if not 0.0 <= signal_efficiency <= 1.0:
        raise HistogramError(f"signal_efficiency must lie in [0, 1], got {signal_efficiency}")
    edges = _score_edges(signal, background)
    eps_s = _pass_fraction(flow_values(signal), signal.axes[SCORE])
    # argmin returns the first of equally near edges: the lower threshold, the higher efficiency
    index = int(np.argmin(np.abs(eps_s - signal_efficiency)))
    eps_b = _pass_fraction(flow_values(background), background.axes[SCORE])
    return index, WorkingPoint(float(edges[index]), float(eps_s[index]), float(eps_b[index]))


def working_point(
    signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5
) -> WorkingPoint:
    """The cut on a score-axis bin edge whose signal efficiency is nearest ``signal_efficiency``.

    The candidates are the edges of the score axis; of equally near edges the lowest (the
    loosest cut) wins. The achieved efficiencies are returned with the threshold.
    """
    return indexed_working_point(signal, background, signal_efficiency)[1]


def inverse_efficiency(efficiency: float) -> float:
    """1/efficiency, inf for zero: a rejection."""
    return math.inf if efficiency == 0 else 1.0 / efficiency


def rejection(signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5) -> float:
    """Background rejection 1/eps_B at the :func:`working_point` (inf when no background passes)."""
    return inverse_efficiency(
        working_point(signal, background, signal_efficiency).background_efficiency
    )


def r50(signal: hist.Hist, background: hist.Hist) -> float:
    """R50: background rejection at 50% signal efficiency."""
    return rejection(signal, background, 0.5)


def jensen_shannon(p: ArrayLike, q: ArrayLike, base: float = math.e) -> float:
    """Jensen-Shannon divergence of two histograms, each normalised here; nats unless ``base``.

    0 for identical shapes, ln(2) (1 in base 2) for shapes without common bins; empty bins
    contribute nothing (0 log 0 = 0).
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    if p.shape != q.shape:
        raise HistogramError(
            f"the histograms have different numbers of bins: {p.size} and {q.size}"
        )
    if (p < 0).any() or (q < 0).any():
        raise HistogramError(
            "a histogram has negative bin contents (negative weights); merge bins until none is negative"
        )
    if p.sum() <= 0 or q.sum() <= 0:
        raise HistogramError(
            "a histogram is empty; the divergence of an empty distribution is undefined"
        )
    p, q = p / p.sum(), q / q.sum()
    mixture = 0.5 * (p + q)

    def kullback_leibler(a: np.ndarray) -> float:
        filled = a > 0  # where a > 0 the mixture is > 0 too
        return float(np.sum(a[filled] * np.log(a[filled] / mixture[filled])))

    divergence = 0.5 * (kullback_leibler(p) + kullback_leibler(q)) / math.log(base)
    return max(divergence, 0.0)  # rounding can leave -1e-17 for identical shapes


def pass_fail_mass(background: hist.Hist, index: int) -> tuple[np.ndarray, np.ndarray]:
    """In-range background mass distributions with score >= and < the score edge ``index``."""
    values = flow_values(background)[in_range(background.axes[MASS])]
    split = int(background.axes[SCORE].traits.underflow) + index
    return values[:, split:].sum(axis=1), values[:, :split].sum(axis=1)


def inv_jsd_at_edge(background: hist.Hist, index: int) -> float:
    """1/JSD of the background passing and failing the score edge ``index``; nan without both."""
    passing, failing = pass_fail_mass(background, index)
    if passing.sum() <= 0 or failing.sum() <= 0:
        return math.nan
    divergence = jensen_shannon(passing, failing)
    return math.inf if divergence == 0 else 1.0 / divergence


def inv_jsd(signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5) -> float:
    """1/JSD (nats) between the background mass shapes passing and failing the :func:`working_point`.

    inf when the shapes are identical; nan when no background passes or none fails (no shape).
    """
    return inv_jsd_at_edge(
        background, indexed_working_point(signal, background, signal_efficiency)[0]
    )


def inv_jsd50(signal: hist.Hist, background: hist.Hist) -> float:
    """1/JSD50: :func:`inv_jsd` at 50% signal efficiency."""
    return inv_jsd(signal, background, 0.5)


def _mass_counts(background: hist.Hist) -> np.ndarray:
    """Jets per in-range mass bin: the contents, or the effective entries when the storage has variances."""
    check_axes(background)
    projected = background.project(MASS)
    values = np.asarray(projected.values(), dtype=np.float64)
    variances = projected.variances()
    if projected.storage_type is hist.storage.Weight and variances is not None:
        variances = np.asarray(variances, dtype=np.float64)
        values = np.divide(values**2, variances, out=np.zeros_like(values), where=variances > 0)
    return np.rint(np.clip(values, 0.0, None)).astype(np.int64)


def inv_jsd_ceiling(
    background: hist.Hist, background_efficiency: float, *, toys: int = 200, seed: int = 0
) -> float:
    """The largest 1/JSD this background sample can show at a cut passing ``background_efficiency``.

    A cut that does not depend on the mass at all still gives passing and failing shapes that
    differ by their statistical fluctuations, so the measured JSD never falls below the one of
    such a random cut: ``1 / mean JSD`` over ``toys`` random cuts (each mass bin's jets pass
    binomially) is the ceiling on a measured 1/JSD. Near it a measurement says only "as
    decorrelated as this sample can tell", and, to first order, the measured JSD is the
    true one plus this floor, so a finite sample biases 1/JSD low. More background jets raise
    the ceiling (about in proportion to the passing jets). The jet counts are the bin contents
    of the in-range mass bins, or the effective entries for ``Weight`` storage.
    """
    if not 0.0 < background_efficiency < 1.0:
        raise HistogramError(
            f"background_efficiency must lie strictly between 0 and 1, got {background_efficiency}"
        )
    counts = _mass_counts(background)
    if counts.sum() == 0:
        raise HistogramError("the background histogram has no entries in its mass range")
    passing = np.random.default_rng(seed).binomial(
        counts, background_efficiency, size=(toys, counts.size)
    )
    divergences = [jensen_shannon(p, counts - p) for p in passing if 0 < p.sum() < counts.sum()]
    if not divergences:
        return math.nan
    mean = float(np.mean(divergences))
    return math.inf if mean == 0 else 1.0 / mean


def inv_jsd_ceiling_curve(background: hist.Hist, rejections: ArrayLike) -> np.ndarray:
    """:func:`inv_jsd_ceiling` of ``background`` at each background rejection (1/eps_B) in ``rejections``."""
    return np.array([inv_jsd_ceiling(background, 1.0 / r) for r in rejections])


def _double_centred(distance: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """A_ij = a_ij - a_i. - a_.j + a_.. with the averages weighted by ``probability``."""
    row = distance @ probability
    return distance - row[:, None] - row[None, :] + probability @ row


def _correlation(dcov2: float, dvar2_x: float, dvar2_y: float) -> float:
    # Székely's convention: dCor = 0 when either variable is constant
    return 0.0 if dvar2_x * dvar2_y <= 0 else float(dcov2 / math.sqrt(dvar2_x * dvar2_y))


def distance_correlation_arrays(
    x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None
) -> float:
    """Weighted squared distance correlation dCor²(x, y) of two samples, as in DisCo (2001.05310).

    With p = weights / sum(weights), a_ij = |x_i - x_j| double-centred with p-weighted averages
    into A (B likewise for y), dCov² = sum_ij p_i p_j A_ij B_ij and
    dCor² = dCov²(x, y) / sqrt(dCov²(x, x) dCov²(y, y)). Integer weights equal repeated entries;
    scaling the weights changes nothing. Memory and time are O(n²): keep n to a few thousand.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if not x.size == y.size == weights.size:
        raise HistogramError(
            f"x, y and weights must have one length, got {x.size}, {y.size} and {weights.size}"
        )
    if weights.sum() <= 0:
        raise HistogramError("the weights sum to zero or less")
    p = weights / weights.sum()
    a = _double_centred(np.abs(x[:, None] - x[None, :]), p)
    b = _double_centred(np.abs(y[:, None] - y[None, :]), p)
    return _correlation(p @ (a * b) @ p, p @ (a * a) @ p, p @ (b * b) @ p)


def distance_correlation(background: hist.Hist) -> float:
    """Weighted dCor² between mass and score from a 2-D histogram: bin centres weighted by contents.

    Equal to :func:`distance_correlation_arrays` on the bin centres with the bin contents as
    weights, but in O(B_mass² B_score + B_mass B_score²): the distance matrices of all bin pairs
    factorise into one matrix per axis, double-centred with that axis' marginal distribution.
    Flow bins, which have no centre, are left out.
    """
    mass_axis, score_axis = background.axes[MASS], background.axes[SCORE]
    joint = flow_values(background)[in_range(mass_axis), in_range(score_axis)]
    if joint.sum() <= 0:
        raise HistogramError(
            "the histogram has no in-range entries (its weights sum to zero or less)"
        )
    joint = joint / joint.sum()
    p_mass, p_score = joint.sum(axis=1), joint.sum(axis=0)
    mass, score = mass_axis.centers, score_axis.centers
    a = _double_centred(np.abs(mass[:, None] - mass[None, :]), p_mass)
    b = _double_centred(np.abs(score[:, None] - score[None, :]), p_score)
    return _correlation(
        np.sum(a * (joint @ b @ joint.T)), p_mass @ (a * a) @ p_mass, p_score @ (b * b) @ p_score
    )
