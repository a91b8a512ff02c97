"""Mass-sculpting figures of merit computed from ``hist`` histograms: R50, 1/JSD50, dCor², plots.

DisCo (Kasieczka & Shih, arXiv:2001.05310) rates a tagger by two numbers at the score cut that
keeps 50% of the signal: the background rejection R50 = 1/eps_B, and 1/JSD50, the inverse
Jensen-Shannon divergence between the background mass distributions of the jets that pass and
that fail the cut (large = little sculpting). Everything here reads histograms, so it works on
output accumulated over any number of chunks or Dask workers::

    h = output["hists"]["substructure_dnn_top"]
    signal, background = h[{"dataset": "ttbar"}], h[{"dataset": "qcd"}]
    # or, from a histogram with a truth-label axis: split_by_label(h)
    r50(signal, background), inv_jsd50(signal, background), distance_correlation(background)

Conventions
-----------
* Inputs are two-dimensional ``hist.Hist`` objects with exactly the axes ``mass`` and ``score``
  (either order, any storage; ``.values()`` is read, i.e. the sum of weights). Project or sum the
  other axes first, e.g. ``h[{"dataset": sum}]``, or use :func:`split_by_label`.
* A jet passes a cut when ``score >= threshold``. Binned scores only allow cuts on bin edges of
  the score axis; :func:`working_point` picks the edge whose signal efficiency is nearest the
  requested one, so the achieved efficiency is off by at most about one bin's content.
* Efficiencies count every entry, flow bins included (a sigmoid score of exactly 1.0 lies in the
  overflow of ``Regular(n, 0, 1)`` and passes every cut), so they equal the fractions counted on
  the unbinned jets. Mass shapes (JSD, sculpting plots) and dCor² use the in-range bins only.
* Logarithms are natural: JSD is in nats unless ``base`` says otherwise (JSD in bits is
  JSD in nats / ln 2), and lies in [0, ln 2].
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import hist
import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MASS, SCORE = "mass", "score"
SCULPTING_EFFICIENCIES = (1.0, 0.5, 0.3, 0.1)

Label = int | str


@dataclass(frozen=True)
class WorkingPoint:
    """A cut ``score >= threshold`` and the signal and background fractions that pass it."""

    threshold: float
    signal_efficiency: float
    background_efficiency: float


@dataclass(frozen=True)
class DecorrelationReport:
    """DisCo's figures of merit for one score, at the cut that keeps 50% of the signal.

    ``n_background`` is the sum of the background weights (the jet count for unit weights);
    ``inv_jsd50_ceiling`` is the largest 1/JSD50 that many background jets can show at this
    cut (:func:`inv_jsd_ceiling`).
    """

    score: str
    r50: float
    inv_jsd50: float
    inv_jsd50_ceiling: float
    dcor2: float
    signal_efficiency: float
    background_efficiency: float
    threshold: float
    n_background: float


def _check_axes(h: hist.Hist) -> None:
    if hasattr(h, "__dask_graph__"):
        raise TypeError("this is a lazy (dask) histogram; call .compute() on it first")
    names = tuple(h.axes.name)
    if sorted(names) != [MASS, SCORE]:
        raise ValueError(
            f"expected a histogram with exactly the axes 'mass' and 'score', got {names}; sum the others"
            " first, e.g. h[{'dataset': sum}], or split a truth-label axis with split_by_label()"
        )
    for name in names:
        if not h.axes[name].traits.ordered:
            raise ValueError(f"axis {name!r} must be a numeric (Regular, Variable or Integer) axis")


def _values(h: hist.Hist) -> np.ndarray:
    """Bin contents with flow bins, indexed [mass, score]."""
    _check_axes(h)
    return np.asarray(h.project(MASS, SCORE).values(flow=True), dtype=np.float64)


def _in_range(axis) -> slice:
    """The in-range bins of ``axis`` in an array that holds its flow bins."""
    start = int(axis.traits.underflow)
    return slice(start, start + len(axis))


def _score_edges(signal: hist.Hist, background: hist.Hist) -> np.ndarray:
    _check_axes(signal)
    _check_axes(background)
    signal_axis, background_axis = signal.axes[SCORE], background.axes[SCORE]
    if not np.array_equal(signal_axis.edges, background_axis.edges) or signal_axis.traits != background_axis.traits:
        raise ValueError("signal and background must have the same score binning; fill them with the same axis")
    return signal_axis.edges


def _pass_fraction(values: np.ndarray, score_axis) -> np.ndarray:
    """Fraction of the total weight with score >= each edge of ``score_axis`` (len(axis) + 1 values)."""
    per_score = values.sum(axis=0)
    total = per_score.sum()
    if total <= 0:
        raise ValueError("the histogram is empty (its weights sum to zero or less)")
    above = np.append(np.cumsum(per_score[::-1])[::-1], 0.0)  # above[i]: weight in flow-array bins >= i
    start = int(score_axis.traits.underflow)
    return above[start : start + len(score_axis) + 1] / total


def _working_point(signal: hist.Hist, background: hist.Hist, signal_efficiency: float) -> tuple[int, WorkingPoint]:
    """The :func:`working_point` and the index of its edge on the score axis."""
    if not 0.0 <= signal_efficiency <= 1.0:
        raise ValueError(f"signal_efficiency must lie in [0, 1], got {signal_efficiency}")
    edges = _score_edges(signal, background)
    eps_s = _pass_fraction(_values(signal), signal.axes[SCORE])
    # argmin returns the first of equally near edges: the lower threshold, the higher efficiency
    index = int(np.argmin(np.abs(eps_s - signal_efficiency)))
    eps_b = _pass_fraction(_values(background), background.axes[SCORE])
    return index, WorkingPoint(float(edges[index]), float(eps_s[index]), float(eps_b[index]))


def working_point(signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5) -> WorkingPoint:
    """The cut on a score-axis bin edge whose signal efficiency is nearest ``signal_efficiency``.

    The candidates are the edges of the score axis; of equally near edges the lowest (the
    loosest cut) wins. The achieved efficiencies are returned with the threshold.
    """
    return _working_point(signal, background, signal_efficiency)[1]


def _inverse(efficiency: float) -> float:
    return math.inf if efficiency == 0 else 1.0 / efficiency


def rejection(signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5) -> float:
    """Background rejection 1/eps_B at the :func:`working_point` (inf when no background passes)."""
    return _inverse(working_point(signal, background, signal_efficiency).background_efficiency)


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
        raise ValueError(f"the histograms have different numbers of bins: {p.size} and {q.size}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("a histogram has negative bin contents (negative weights); merge bins until none is negative")
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("a histogram is empty; the divergence of an empty distribution is undefined")
    p, q = p / p.sum(), q / q.sum()
    mixture = 0.5 * (p + q)

    def kullback_leibler(a: np.ndarray) -> float:
        filled = a > 0  # where a > 0 the mixture is > 0 too
        return float(np.sum(a[filled] * np.log(a[filled] / mixture[filled])))

    divergence = 0.5 * (kullback_leibler(p) + kullback_leibler(q)) / math.log(base)
    return max(divergence, 0.0)  # rounding can leave -1e-17 for identical shapes


def _pass_fail_mass(background: hist.Hist, index: int) -> tuple[np.ndarray, np.ndarray]:
    """In-range background mass distributions with score >= and < the score edge ``index``."""
    values = _values(background)[_in_range(background.axes[MASS])]
    split = int(background.axes[SCORE].traits.underflow) + index
    return values[:, split:].sum(axis=1), values[:, :split].sum(axis=1)


def _inv_jsd_at(background: hist.Hist, index: int) -> float:
    passing, failing = _pass_fail_mass(background, index)
    if passing.sum() <= 0 or failing.sum() <= 0:
        return math.nan
    divergence = jensen_shannon(passing, failing)
    return math.inf if divergence == 0 else 1.0 / divergence


def inv_jsd(signal: hist.Hist, background: hist.Hist, signal_efficiency: float = 0.5) -> float:
    """1/JSD (nats) between the background mass shapes passing and failing the :func:`working_point`.

    inf when the shapes are identical; nan when no background passes or none fails (no shape).
    """
    return _inv_jsd_at(background, _working_point(signal, background, signal_efficiency)[0])


def inv_jsd50(signal: hist.Hist, background: hist.Hist) -> float:
    """1/JSD50: :func:`inv_jsd` at 50% signal efficiency."""
    return inv_jsd(signal, background, 0.5)


def _mass_counts(background: hist.Hist) -> np.ndarray:
    """Jets per in-range mass bin: the contents, or the effective entries when the storage has variances."""
    _check_axes(background)
    projected = background.project(MASS)
    values = np.asarray(projected.values(), dtype=np.float64)
    variances = projected.variances()
    if projected.storage_type is hist.storage.Weight and variances is not None:
        variances = np.asarray(variances, dtype=np.float64)
        values = np.divide(values**2, variances, out=np.zeros_like(values), where=variances > 0)
    return np.rint(np.clip(values, 0.0, None)).astype(np.int64)


def inv_jsd_ceiling(background: hist.Hist, background_efficiency: float, *, toys: int = 200, seed: int = 0) -> float:
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
        raise ValueError(f"background_efficiency must lie strictly between 0 and 1, got {background_efficiency}")
    counts = _mass_counts(background)
    if counts.sum() == 0:
        raise ValueError("the background histogram has no entries in its mass range")
    passing = np.random.default_rng(seed).binomial(counts, background_efficiency, size=(toys, counts.size))
    divergences = [jensen_shannon(p, counts - p) for p in passing if 0 < p.sum() < counts.sum()]
    if not divergences:
        return math.nan
    mean = float(np.mean(divergences))
    return math.inf if mean == 0 else 1.0 / mean


def _double_centred(distance: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """A_ij = a_ij - a_i. - a_.j + a_.. with the averages weighted by ``probability``."""
    row = distance @ probability
    return distance - row[:, None] - row[None, :] + probability @ row


def _correlation(dcov2: float, dvar2_x: float, dvar2_y: float) -> float:
    # Székely's convention: dCor = 0 when either variable is constant
    return 0.0 if dvar2_x * dvar2_y <= 0 else float(dcov2 / math.sqrt(dvar2_x * dvar2_y))


def distance_correlation_arrays(x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> float:
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
        raise ValueError(f"x, y and weights must have one length, got {x.size}, {y.size} and {weights.size}")
    if weights.sum() <= 0:
        raise ValueError("the weights sum to zero or less")
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
    joint = _values(background)[_in_range(mass_axis), _in_range(score_axis)]
    if joint.sum() <= 0:
        raise ValueError("the histogram has no in-range entries (its weights sum to zero or less)")
    joint = joint / joint.sum()
    p_mass, p_score = joint.sum(axis=1), joint.sum(axis=0)
    mass, score = mass_axis.centers, score_axis.centers
    a = _double_centred(np.abs(mass[:, None] - mass[None, :]), p_mass)
    b = _double_centred(np.abs(score[:, None] - score[None, :]), p_score)
    return _correlation(np.sum(a * (joint @ b @ joint.T)), p_mass @ (a * a) @ p_mass, p_score @ (b * b) @ p_score)


def _mass_score_plane(h: hist.Hist) -> hist.Hist:
    """``h`` summed over every axis but mass and score, as a (mass, score) histogram."""
    others = [name for name in h.axes.name if name not in (MASS, SCORE)]
    if others:
        h = h[{name: sum for name in others}]
    _check_axes(h)
    return h.project(MASS, SCORE)


def split_by_label(
    h: hist.Hist,
    label_axis: str = "label",
    signal: Label | Sequence[Label] = 1,
    background: Label | Sequence[Label] = 0,
) -> tuple[hist.Hist, hist.Hist]:
    """(signal, background) (mass, score) histograms from one with a truth-label axis.

    Each is the sum over its label(s) on ``label_axis``, with every other axis but mass and
    score (e.g. ``dataset``) summed over.
    """
    if label_axis not in h.axes.name:
        raise ValueError(f"no axis named {label_axis!r}; the histogram has {tuple(h.axes.name)}")

    def select(labels: Label | Sequence[Label]) -> hist.Hist:
        labels = [labels] if isinstance(labels, (str, int, np.integer)) else list(labels)
        missing = [label for label in labels if label not in h.axes[label_axis]]
        if missing:
            raise ValueError(f"label(s) {missing} not on axis {label_axis!r}, which holds {list(h.axes[label_axis])}")
        selected = functools.reduce(operator.add, (h[{label_axis: hist.loc(label)}] for label in labels))
        return _mass_score_plane(selected)

    return select(signal), select(background)


def select_classes(
    h: hist.Hist,
    *,
    signal_dataset: str | None = None,
    background_dataset: str | None = None,
    signal_label: Label = 1,
    background_label: Label = 0,
    dataset_axis: str = "dataset",
    label_axis: str = "label",
) -> tuple[hist.Hist, hist.Hist]:
    """(signal, background) (mass, score) histograms from a processor's output histogram.

    Each class is chosen by its dataset (when given) and, when ``h`` has a truth-label axis, by
    its label; every remaining axis but mass and score is summed. Without a label axis both
    datasets are required, since nothing else tells signal from background.
    """
    has_labels = label_axis in h.axes.name
    if not has_labels and (signal_dataset is None or background_dataset is None):
        raise ValueError(
            f"the histogram has no {label_axis!r} axis, so signal and background must be chosen by "
            f"dataset: give both (datasets present: {list(h.axes[dataset_axis]) if dataset_axis in h.axes.name else []})"
        )

    def select(dataset: str | None, label: Label) -> hist.Hist:
        selected = h
        if dataset is not None:
            if dataset not in selected.axes[dataset_axis]:
                raise ValueError(f"dataset {dataset!r} not in the histogram; it has {list(h.axes[dataset_axis])}")
            selected = selected[{dataset_axis: hist.loc(dataset)}]
        if has_labels:
            if label not in selected.axes[label_axis]:
                raise ValueError(f"label {label!r} not on axis {label_axis!r}, which holds {list(h.axes[label_axis])}")
            selected = selected[{label_axis: hist.loc(label)}]
        return _mass_score_plane(selected)

    return select(signal_dataset, signal_label), select(background_dataset, background_label)


def sculpting_plot(
    signal: hist.Hist,
    background: hist.Hist,
    signal_efficiencies: Sequence[float] = SCULPTING_EFFICIENCIES,
    ax: Axes | None = None,
) -> Axes:
    """Background mass shapes, normalised to unit area, after cuts at several signal efficiencies.

    One step line per cut (a cut that leaves no background is left out); the legend gives
    the achieved eps_S and eps_B. Draws on ``ax``, or on a new pyplot figure.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    mass_axis = background.axes[MASS]
    for efficiency in signal_efficiencies:
        index, point = _working_point(signal, background, efficiency)
        passing, _ = _pass_fail_mass(background, index)
        if passing.sum() <= 0:
            continue
        density = passing / (passing.sum() * mass_axis.widths)
        label = rf"$\epsilon_S$ = {point.signal_efficiency:.2f}, $\epsilon_B$ = {point.background_efficiency:.3g}"
        ax.stairs(density, mass_axis.edges, label=label)
    ax.set_xlabel(mass_axis.label)
    ax.set_ylabel("background, normalised to unit area")
    ax.legend(title=f"cut on {background.axes[SCORE].label}")
    return ax


def rejection_vs_inv_jsd_plot(
    reports: Sequence[DecorrelationReport],
    ax: Axes | None = None,
    ceiling: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Axes:
    """R50 against 1/JSD50, log-log, one labelled point per score (as in 2001.05310).

    Scores whose R50 or 1/JSD50 is infinite or undefined cannot be placed and are left out.
    ``ceiling``, (R values, 1/JSD ceilings) from :func:`inv_jsd_ceiling`, is drawn as a dashed
    line: points near it are as decorrelated as the background sample can resolve.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    if ceiling is not None:
        ax.plot(*ceiling, linestyle="--", color="grey", label="finite-statistics ceiling")
        ax.legend()
    for report in reports:
        if all(math.isfinite(value) and value > 0 for value in (report.r50, report.inv_jsd50)):
            ax.scatter(report.r50, report.inv_jsd50)
            ax.annotate(report.score, (report.r50, report.inv_jsd50), textcoords="offset points", xytext=(4, 4))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"R50 = 1/$\epsilon_B$ at $\epsilon_S$ = 0.5")
    ax.set_ylabel("1/JSD50")
    return ax


def report_markdown(reports: Sequence[DecorrelationReport]) -> str:
    """The reports as a Markdown table, one row per score."""
    header = ("score", "R50", "1/JSD50", "1/JSD50 ceiling", "dCor²", "eps_S", "eps_B", "threshold", "background weight")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for report in reports:
        name, *numbers = astuple(report)
        lines.append("| " + " | ".join([name, *(f"{number:.4g}" for number in numbers)]) + " |")
    return "\n".join(lines) + "\n"


def _file_safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


def _ceiling_curve(
    reports: Sequence[DecorrelationReport], hists: Mapping[str, tuple[hist.Hist, hist.Hist]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`inv_jsd_ceiling` over the span of the reports' R50, for the first score's background."""
    rejections = [report.r50 for report in reports if math.isfinite(report.r50) and report.r50 > 1]
    if not rejections:
        return None
    background = next(iter(hists.values()))[1]
    grid = np.geomspace(max(1.01, min(rejections) / 1.5), max(rejections) * 1.5, 25)
    return grid, np.array([inv_jsd_ceiling(background, 1.0 / r) for r in grid])


def decorrelation_report(
    hists: Mapping[str, tuple[hist.Hist, hist.Hist]],
    output_dir: str | Path | None = None,
    signal_efficiencies: Sequence[float] = SCULPTING_EFFICIENCIES,
) -> list[DecorrelationReport]:
    """R50, 1/JSD50 and dCor² for every score in ``hists`` (name -> (signal, background)).

    With ``output_dir``, also writes ``decorrelation.md`` (the table), ``sculpting_<score>.png``
    per score (cuts at ``signal_efficiencies``) and ``r50_vs_inv_jsd50.png`` (with the
    finite-statistics ceiling of the first score's background sample).
    """
    reports = []
    for name, (signal, background) in hists.items():
        index, point = _working_point(signal, background, 0.5)
        eps_b = point.background_efficiency
        reports.append(
            DecorrelationReport(
                score=name,
                r50=_inverse(eps_b),
                inv_jsd50=_inv_jsd_at(background, index),
                inv_jsd50_ceiling=inv_jsd_ceiling(background, eps_b) if 0 < eps_b < 1 else math.nan,
                dcor2=distance_correlation(background),
                signal_efficiency=point.signal_efficiency,
                background_efficiency=point.background_efficiency,
                threshold=point.threshold,
                n_background=float(_values(background).sum()),
            )
        )
    if output_dir is not None:
        from matplotlib.figure import Figure

        directory = Path(output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "decorrelation.md").write_text(report_markdown(reports))
        for name, (signal, background) in hists.items():
            figure = Figure()
            sculpting_plot(signal, background, signal_efficiencies, ax=figure.subplots())
            figure.savefig(directory / f"sculpting_{_file_safe(name)}.png")
        figure = Figure()
        rejection_vs_inv_jsd_plot(reports, ax=figure.subplots(), ceiling=_ceiling_curve(reports, hists))
        figure.savefig(directory / "r50_vs_inv_jsd50.png")
    return reports


__all__ = [
    "DecorrelationReport",
    "WorkingPoint",
    "decorrelation_report",
    "distance_correlation",
    "distance_correlation_arrays",
    "inv_jsd",
    "inv_jsd50",
    "inv_jsd_ceiling",
    "jensen_shannon",
    "r50",
    "rejection",
    "rejection_vs_inv_jsd_plot",
    "report_markdown",
    "sculpting_plot",
    "select_classes",
    "split_by_label",
    "working_point",
]
