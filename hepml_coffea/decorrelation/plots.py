"""Figures of mass sculpting: background mass shapes after cuts, R50 against 1/JSD50, and the
decorrelation target on that plane. Matplotlib is imported only when a figure is made."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import hist

from hepml_coffea.decorrelation.histograms import MASS, SCORE
from hepml_coffea.decorrelation.metrics import indexed_working_point, pass_fail_mass
from hepml_coffea.decorrelation.target import TARGET_LABEL, target_corner

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from hepml_coffea.decorrelation.report import DecorrelationReport

SCULPTING_EFFICIENCIES = (1.0, 0.5, 0.3, 0.1)


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
        index, point = indexed_working_point(signal, background, efficiency)
        passing, _ = pass_fail_mass(background, index)
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
            ax.annotate(
                report.score,
                (report.r50, report.inv_jsd50),
                textcoords="offset points",
                xytext=(4, 4),
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"R50 = 1/$\epsilon_B$ at $\epsilon_S$ = 0.5")
    ax.set_ylabel("1/JSD50")
    return ax


def shade_target(ax: Axes, plain: Mapping[str, float], which: str = "") -> None:
    """Shade the decorrelation target for the ``plain`` tagger (``r50``, ``inv_jsd50``) on an R50-1/JSD50 plane.

    ``which`` follows "plain" in the label, e.g. " (held-out)".
    """
    r50_floor, inv_jsd_floor = target_corner(plain)
    ax.fill_between(
        [r50_floor, 2 * plain["r50"]],
        inv_jsd_floor,
        1e3,
        color="tab:green",
        alpha=0.15,
        label=f"{TARGET_LABEL}{which}",
    )


def target_plane(plain: Mapping[str, float], which: str = "") -> tuple[Figure, Axes]:
    """A new log-log R50 / 1/JSD50 figure with the target region and the plain tagger (a star) drawn."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    shade_target(ax, plain, which)
    ax.scatter(
        [plain["r50"]], [plain["inv_jsd50"]], color="black", marker="*", s=80, label=f"plain{which}"
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="R50 (1/eps_B at 50% signal efficiency)",
        ylabel="1/JSD50",
        xlim=(5, 2 * plain["r50"]),
        ylim=(1, 1e3),
    )
    return fig, ax


def draw_chosen(ax: Axes, held_out: Mapping) -> None:
    """Draw a chosen tagger's held-out point with its bootstrap spreads, and the 1/JSD50 ceiling curve.

    ``held_out`` holds ``chosen`` (``r50``, ``inv_jsd50``), ``bootstrap_std`` (the same keys) and
    ``ceiling_curve`` (:func:`~hepml_coffea.decorrelation.scores.ceiling_curve`); adds the legend.
    """
    chosen = held_out["chosen"]
    ax.errorbar(
        [chosen["r50"]],
        [chosen["inv_jsd50"]],
        xerr=[held_out["bootstrap_std"]["r50"]],
        yerr=[held_out["bootstrap_std"]["inv_jsd50"]],
        color="tab:red",
        marker="o",
        label="chosen (held-out)",
    )
    curve = held_out["ceiling_curve"]
    ax.plot(
        curve["r50"],
        curve["inv_jsd50"],
        color="grey",
        linestyle="--",
        label="finite-statistics ceiling (held-out)",
    )
    ax.legend(fontsize=8)
