"""The (mass, score) histograms every figure of merit reads: axis checks, bin contents, and the
signal and background planes sliced out of a processor's output or filled from unbinned scores."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

import hist
import numpy as np

from hepml_coffea.errors import HistogramError

MASS, SCORE = "mass", "score"
#: the binning of the studies' histograms, as the tagging processor's with ``score_bins=1000``
STUDY_MASS_BINS = (60, 0.0, 300.0)
STUDY_SCORE_BINS = 1000

Label = int | str


def check_axes(h: hist.Hist) -> None:
    """Raise unless ``h`` is a filled (not lazy) histogram with exactly numeric ``mass`` and ``score`` axes."""
    if hasattr(h, "__dask_graph__"):
        raise HistogramError(
            "this is a lazy (dask) histogram; call .compute() on it first (dask.compute(h))"
        )
    names = tuple(h.axes.name)
    if sorted(names) != [MASS, SCORE]:
        raise HistogramError(
            f"expected a histogram with exactly the axes 'mass' and 'score', got {names}; sum the others"
            " first, e.g. h[{'dataset': sum}], or split a truth-label axis with split_by_label()"
        )
    for name in names:
        if not h.axes[name].traits.ordered:
            raise HistogramError(
                f"axis {name!r} must be a numeric (Regular, Variable or Integer) axis"
            )


def flow_values(h: hist.Hist) -> np.ndarray:
    """Bin contents with flow bins, indexed [mass, score]."""
    check_axes(h)
    return np.asarray(h.project(MASS, SCORE).values(flow=True), dtype=np.float64)


def in_range(axis) -> slice:
    """The in-range bins of ``axis`` in an array that holds its flow bins."""
    start = int(axis.traits.underflow)
    return slice(start, start + len(axis))


def mass_score_plane(h: hist.Hist) -> hist.Hist:
    """``h`` summed over every axis but mass and score, as a (mass, score) histogram."""
    others = [name for name in h.axes.name if name not in (MASS, SCORE)]
    if others:
        h = h[{name: sum for name in others}]
    check_axes(h)
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
        raise HistogramError(
            f"no axis named {label_axis!r}; the histogram has {tuple(h.axes.name)}"
        )

    def select(labels: Label | Sequence[Label]) -> hist.Hist:
        labels = [labels] if isinstance(labels, (str, int, np.integer)) else list(labels)
        missing = [label for label in labels if label not in h.axes[label_axis]]
        if missing:
            raise HistogramError(
                f"label(s) {missing} not on axis {label_axis!r}, which holds {list(h.axes[label_axis])}"
            )
        selected = functools.reduce(
            operator.add, (h[{label_axis: hist.loc(label)}] for label in labels)
        )
        return mass_score_plane(selected)

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
        raise HistogramError(
            f"the histogram has no {label_axis!r} axis, so signal and background must be chosen by "
            f"dataset: give both (datasets present: {list(h.axes[dataset_axis]) if dataset_axis in h.axes.name else []})"
        )

    signal = (signal_dataset, signal_label if has_labels else None)
    if signal == (background_dataset, background_label if has_labels else None):
        chosen = ", ".join(
            f"{what} {value!r}"
            for what, value in zip(("dataset", "label"), signal, strict=True)
            if value is not None
        )
        raise HistogramError(
            f"signal and background would be the same jets ({chosen or 'all of them'}); choose"
            " different datasets or labels"
        )

    def select(dataset: str | None, label: Label) -> hist.Hist:
        selected = h
        if dataset is not None:
            if dataset not in selected.axes[dataset_axis]:
                raise HistogramError(
                    f"dataset {dataset!r} not in the histogram; it has {list(h.axes[dataset_axis])}"
                )
            selected = selected[{dataset_axis: hist.loc(dataset)}]
        if has_labels:
            if label not in selected.axes[label_axis]:
                raise HistogramError(
                    f"label {label!r} not on axis {label_axis!r}, which holds {list(h.axes[label_axis])}"
                )
            selected = selected[{label_axis: hist.loc(label)}]
        return mass_score_plane(selected)

    return select(signal_dataset, signal_label), select(background_dataset, background_label)


def mass_score_hists(
    scores: np.ndarray, labels: np.ndarray, mass: np.ndarray
) -> tuple[hist.Hist, hist.Hist]:
    """(signal, background) (mass, score) histograms of unbinned ``scores`` in [0, 1] (labels 1 and 0).

    Binned as the studies' processor runs (:data:`STUDY_MASS_BINS`, :data:`STUDY_SCORE_BINS`),
    so a score measured from arrays gets the numbers it would get from the processor's output.
    """

    def filled(selection: np.ndarray) -> hist.Hist:
        h = hist.Hist(
            hist.axis.Regular(*STUDY_MASS_BINS, name=MASS),
            hist.axis.Regular(STUDY_SCORE_BINS, 0.0, 1.0, name=SCORE),
        )
        return h.fill(**{MASS: mass[selection], SCORE: scores[selection]})

    return filled(labels == 1), filled(labels == 0)
