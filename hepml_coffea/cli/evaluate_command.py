"""``hepml-coffea evaluate``: compare the scores of taggers and anomaly scores on labelled
samples: the table and ROC curves of the top-tagging comparison."""

from __future__ import annotations

import argparse

from hepml_coffea.arguments import local_file, positive_int
from hepml_coffea.cli.options import add_output_dir, add_quiet

NAME = "evaluate"
SUMMARY = "compare taggers on labelled samples: table and ROC curves"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugins", required=True, help="comma-separated plugin names")
    parser.add_argument(
        "--signal", type=local_file, nargs="+", required=True, help="signal NanoAOD files"
    )
    parser.add_argument(
        "--background", type=local_file, nargs="+", required=True, help="background NanoAOD files"
    )
    parser.add_argument(
        "--signal-label", type=int, default=1, help="FatJet_truthLabel of signal jets (1 = top)"
    )
    parser.add_argument("--max-per-class", type=positive_int, help="cap on jets per class")
    parser.add_argument("--seed", type=int, default=0, help="seed of the jet shuffling")
    add_output_dir(parser, "hepml-evaluation", "the table, the ROC curves and their provenance")
    add_quiet(parser, "progress bar")


def run(args: argparse.Namespace) -> int:
    from hepml_coffea.columns import resolve_plugins
    from hepml_coffea.tagging.comparison import evaluate_taggers, evaluation_table, write_evaluation

    plugins = resolve_plugins(args.plugins)
    results = evaluate_taggers(
        plugins,
        args.signal,
        args.background,
        signal_label=args.signal_label,
        max_per_class=args.max_per_class,
        seed=args.seed,
        progress=not args.quiet,
    )
    provenance = {
        "command": args.command_line,
        "signal": [str(p) for p in args.signal],
        "background": [str(p) for p in args.background],
        "signal_label": args.signal_label,
        "max_per_class": args.max_per_class,
        "seed": args.seed,
    }
    paths = write_evaluation(results, args.output_dir, provenance)
    print(evaluation_table(results))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
