"""Every DisCo/adversary run of studies/mass_decorrelation.py on one R50-versus-1/JSD50 plot.

Each run writes a ``decorrelation.json`` (its command, settings and one report per score).
This script puts the reports of several runs on one log-log plot, shades the decorrelation
target (hepml_coffea.decorrelation.target: 1/JSD50 >= 10x and R50 >= 1/3 of the plain tagger's)
and writes a table::

    python studies/decorrelation_frontier.py docs/decorrelation/scan/*.json \\
        --output docs/decorrelation/frontier

The plain tagger is the score called ``--plain`` (it must be in every run, with the same value).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

from matplotlib.figure import Figure

from hepml_coffea.decorrelation import shade_target


def run_label(record: dict, score: str) -> str:
    """Short description of how ``score`` was trained, from its run's record."""
    adversary = "adversary" in score
    parts = [
        "adversary" if adversary else "DisCo",
        "fine-tuned" if record.get("initialised_from") else "from scratch",
        f"lr {record['learning_rate']:g}",
        f"{record['epochs_max']} epochs",
    ]
    if not adversary:  # the adversary always trains with batches of 256
        parts.append(f"batch {record.get('disco_batch_size', 1024)}")
    if "--flatten-mass" in record["command"]:
        parts.append("flat-mass weights")
    return ", ".join(parts)


def load_runs(paths: list[Path], plain: str) -> tuple[dict, list[tuple[str, dict]]]:
    """The plain tagger's report and (run label, report) for every other score."""
    plain_report, points = None, []
    for path in paths:
        record = json.loads(path.read_text())
        for report in record["reports"]:
            if report["score"] != plain:
                points.append((run_label(record, report["score"]), report))
            elif plain_report is None:
                plain_report = report
            elif not math.isclose(report["r50"], plain_report["r50"]):
                raise ValueError(
                    f"{path}: the plain tagger {plain} has R50 {report['r50']:.4g}, not "
                    f"{plain_report['r50']:.4g} as in the first run; were the test samples the same?"
                )
    if plain_report is None:
        raise ValueError(f"no run has the plain tagger {plain!r}; pass --plain with its score name")
    return plain_report, points


def plot(plain: dict, points: list[tuple[str, dict]], path: Path) -> None:
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    shade_target(ax, plain)
    ax.scatter(
        plain["r50"], plain["inv_jsd50"], marker="*", s=150, color="black", label="plain", zorder=3
    )
    labels = sorted({label for label, _ in points})
    for marker, label in zip(itertools.cycle("osD^vP<>"), labels):
        chosen = [report for run, report in points if run == label]
        ax.scatter(
            [r["r50"] for r in chosen],
            [r["inv_jsd50"] for r in chosen],
            marker=marker,
            label=label,
            alpha=0.8,
            zorder=2,
        )
        for report in chosen:
            ax.annotate(
                report["score"].removeprefix("pfn_").removesuffix("_top"),
                (report["r50"], report["inv_jsd50"]),
                textcoords="offset points",
                xytext=(3, 3),
                fontsize="xx-small",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(10, 2 * plain["r50"])
    ax.set_ylim(1, 100)
    ax.set_xlabel(r"R50 = 1/$\epsilon_B$ at $\epsilon_S$ = 0.5")
    ax.set_ylabel("1/JSD50")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small", loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(plain: dict, points: list[tuple[str, dict]]) -> str:
    lines = [
        "| run | score | R50 | 1/JSD50 | R50 / plain | 1/JSD50 / plain |",
        "|---|---|---|---|---|---|",
        f"| plain | {plain['score']} | {plain['r50']:.1f} | {plain['inv_jsd50']:.1f} | 1 | 1 |",
    ]
    for label, report in sorted(points, key=lambda p: (p[0], -p[1]["r50"])):
        lines.append(
            f"| {label} | {report['score']} | {report['r50']:.1f} | {report['inv_jsd50']:.1f} | "
            f"{report['r50'] / plain['r50']:.3f} | {report['inv_jsd50'] / plain['inv_jsd50']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="+", help="decorrelation.json files")
    parser.add_argument("--plain", default="pfn_top", help="score of the plain tagger")
    parser.add_argument(
        "--output", type=Path, required=True, help="path stem: writes STEM.png and STEM.md"
    )
    args = parser.parse_args()
    plain, points = load_runs(args.runs, args.plain)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    plot(plain, points, args.output.with_suffix(".png"))
    text = table(plain, points)
    args.output.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
