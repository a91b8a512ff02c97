"""One table and a set of figures for many scores: :func:`decorrelation_report`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import hist
import numpy as np

from hepml_coffea.decorrelation.histograms import flow_values
from hepml_coffea.decorrelation.metrics import (
    distance_correlation,
    indexed_working_point,
    inv_jsd_at_edge,
    inv_jsd_ceiling,
    inv_jsd_ceiling_curve,
    inverse_efficiency,
)
from hepml_coffea.decorrelation.plots import (
    SCULPTING_EFFICIENCIES,
    rejection_vs_inv_jsd_plot,
    sculpting_plot,
)


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


def report_markdown(reports: Sequence[DecorrelationReport]) -> str:
    """The reports as a Markdown table, one row per score."""
    header = (
        "score",
        "R50",
        "1/JSD50",
        "1/JSD50 ceiling",
        "dCor²",
        "eps_S",
        "eps_B",
        "threshold",
        "background weight",
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for report in reports:
        name, *numbers = astuple(report)
        lines.append("| " + " | ".join([name, *(f"{number:.4g}" for number in numbers)]) + " |")
    return "\n".join(lines) + "\n"


def _file_safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


def report_ceiling_curve(
    reports: Sequence[DecorrelationReport], hists: Mapping[str, tuple[hist.Hist, hist.Hist]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`inv_jsd_ceiling` over the span of the reports' R50, for the first score's background."""
    rejections = [report.r50 for report in reports if math.isfinite(report.r50) and report.r50 > 1]
    if not rejections:
        return None
    background = next(iter(hists.values()))[1]
    grid = np.geomspace(max(1.01, min(rejections) / 1.5), max(rejections) * 1.5, 25)
    return grid, inv_jsd_ceiling_curve(background, grid)


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
        index, point = indexed_working_point(signal, background, 0.5)
        eps_b = point.background_efficiency
        reports.append(
            DecorrelationReport(
                score=name,
                r50=inverse_efficiency(eps_b),
                inv_jsd50=inv_jsd_at_edge(background, index),
                inv_jsd50_ceiling=inv_jsd_ceiling(background, eps_b) if 0 < eps_b < 1 else math.nan,
                dcor2=distance_correlation(background),
                signal_efficiency=point.signal_efficiency,
                background_efficiency=point.background_efficiency,
                threshold=point.threshold,
                n_background=float(flow_values(background).sum()),
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
        rejection_vs_inv_jsd_plot(
            reports, ax=figure.subplots(), ceiling=report_ceiling_curve(reports, hists)
        )
        figure.savefig(directory / "r50_vs_inv_jsd50.png")
    return reports
