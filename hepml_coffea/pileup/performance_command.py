"""``hepml-coffea evaluate-pileup``: the options and the command around
:mod:`hepml_coffea.pileup.performance`."""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from hepml_coffea.errors import HepmlCoffeaError
from hepml_coffea.pileup.performance import (
    DEFAULT_POINTS,
    DEFAULT_TOP_POINTS,
    EVALUATION_SEED,
    METHODS,
    evaluate_points,
    markdown_table,
    plot,
    top_peaks,
    top_table,
)


def _parse_points(text: str) -> tuple[tuple[float, int], ...]:
    try:
        pairs = [item.split(":") for item in text.split(",") if item.strip()]
        return tuple((float(mu), int(n)) for mu, n in pairs)
    except ValueError:
        raise HepmlCoffeaError(
            f"--points {text!r}: give MU:EVENTS pairs separated by commas, e.g. 0:2000,140:300"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``evaluate-pileup`` options."""
    default = ",".join(f"{mu:g}:{n}" for mu, n in DEFAULT_POINTS)
    parser.add_argument(
        "--points", default=default, help="MU:EVENTS pairs, the samples to evaluate on"
    )
    parser.add_argument("--process", default="qcd", help="process of the evaluation samples")
    parser.add_argument(
        "--top-points",
        default=",".join(f"{mu:g}:{n}" for mu, n in DEFAULT_TOP_POINTS),
        help="MU:EVENTS pairs of the ttbar samples for the top msoftdrop peaks ('' for none)",
    )
    parser.add_argument("--seed", type=int, default=EVALUATION_SEED, help="sample seed")
    parser.add_argument("--cache-dir", type=Path, default=None, help="sample cache folder")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("docs/pileup"), help="table.md and the plots"
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write it (``table.md``) and the plots to ``--output-dir``."""
    points = _parse_points(args.points)
    top_points = _parse_points(args.top_points) if args.top_points.strip() else ()
    started = time.perf_counter()
    summaries, raw = evaluate_points(points, args.process, args.seed, METHODS, args.cache_dir)
    table = markdown_table(summaries, points, METHODS)
    figures = plot(summaries, raw, METHODS, args.output_dir)
    print(table)
    if top_points:
        peaks = top_peaks(top_points, args.seed, METHODS, args.cache_dir)
        top = top_table(peaks, top_points, METHODS)
        print(top)
        table = (
            f"{table}\n\nTop soft-drop-mass peak (GeV; shift from the pileup-free peak):\n\n{top}"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    target = args.output_dir / "table.md"
    target.write_text(
        f"<!-- written by `{getattr(args, 'command_line', 'hepml-coffea evaluate-pileup')}` "
        f"on {stamp}, {platform.processor() or platform.machine()}, "
        f"{time.perf_counter() - started:.0f} s -->\n{table}\n"
    )
    print(f"wrote {target} and {', '.join(map(str, figures))}")
    return 0
