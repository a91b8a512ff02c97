"""``hepml-coffea train``: fit a plugin's network and write its artifact, as the plugin's kind
trains (:meth:`hepml_coffea.kinds.Kind.train`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepml_coffea.arguments import local_file, positive_int

NAME = "train"
SUMMARY = "train a plugin's network and write its artifact"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hepml_coffea.registry import get_registry

    parser.add_argument(
        "--plugin", required=True, help="name of the plugin to train (see `hepml-coffea plugins`)"
    )
    parser.add_argument(
        "--signal",
        type=local_file,
        nargs="+",
        help="signal NanoAOD files (none for an anomaly score, trained on --background only)",
    )
    parser.add_argument(
        "--background",
        type=local_file,
        nargs="+",
        help="background NanoAOD files (required but for a pileup regression)",
    )
    parser.add_argument(
        "--signal-label", type=int, default=1, help="FatJet_truthLabel of signal jets (1 = top)"
    )
    parser.add_argument(
        "--output", type=Path, help="artifact directory (default: the plugin's own)"
    )
    for kind in get_registry().kinds.values():  # options only some kinds' training reads
        kind.add_train_arguments(parser)
    parser.add_argument("--max-per-class", type=positive_int, help="cap on jets per class")
    parser.add_argument(
        "--epochs",
        type=int,
        default=100,
        help="most epochs to train (early stopping may end sooner)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, help="jets per training step"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=8,
        help="epochs without validation improvement before stopping",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=1e-3, help="initial Adam learning rate"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        metavar="ARTIFACT",
        help="start from this artifact's weights (same architecture), e.g. to decorrelate a trained tagger",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the data split, the shuffling and the weights"
    )
    parser.add_argument(
        "--decorrelate",
        choices=("disco", "adversary"),
        help="train decorrelated from the jet mass (DisCo loss or a mass adversary)",
    )
    parser.add_argument(
        "--lambda", dest="strength", type=float, default=10.0, help="decorrelation strength lambda"
    )
    parser.add_argument(
        "--flatten-mass",
        action="store_true",
        help="weight background jets to a flat mass distribution in the decorrelation term",
    )


def run(args: argparse.Namespace) -> int:
    from hepml_coffea.registry import get_registry
    from hepml_coffea.training.fit import check_trainable

    registry = get_registry()
    plugin = registry.get(args.plugin)
    check_trainable(plugin)
    return registry.kind_of(plugin).train(plugin, args)
