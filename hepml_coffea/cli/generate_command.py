"""``hepml-coffea generate``: Pythia8 samples written as PFNano-like NanoAOD
(:func:`hepml_coffea.samples.generate_sample`)."""

from __future__ import annotations

import argparse
import sys

from hepml_coffea.samples.detector import DETECTORS
from hepml_coffea.samples.generate import DEFAULT_CHUNK_SIZE, DEFAULT_SEED, generate_sample
from hepml_coffea.samples.generation_errors import SampleConfigError
from hepml_coffea.samples.processes import PROCESSES

NAME = "generate"
SUMMARY = "generate PFNano-like samples with Pythia8 + fastjet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` options to ``parser`` (a sub-command parser)."""
    parser.add_argument("--process", required=True, choices=PROCESSES, help="physics process")
    parser.add_argument("--events", required=True, type=int, metavar="N", help="events to generate")
    parser.add_argument("--output", required=True, metavar="F.root", help="output NanoAOD file")
    parser.add_argument(
        "--pileup",
        type=float,
        default=0.0,
        metavar="MU",
        help="mean number of minbias pileup interactions (Poisson)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="master seed")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes")
    parser.add_argument(
        "--pt-min", type=float, default=500.0, help="fat-jet pT window low edge, GeV"
    )
    parser.add_argument(
        "--pt-max", type=float, default=700.0, help="fat-jet pT window high edge, GeV"
    )
    parser.add_argument(
        "--detector",
        choices=DETECTORS,
        default="simple",
        help="simple: tracks + calorimeter cells; none: generator level",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="K", help="events per chunk"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run ``generate``; returns the exit code (2 for a bad request, printed without traceback)."""
    try:
        path = generate_sample(
            args.process,
            args.events,
            args.output,
            pileup=args.pileup,
            seed=args.seed,
            jobs=args.jobs,
            pt_min=args.pt_min,
            pt_max=args.pt_max,
            detector=args.detector,
            chunk_size=args.chunk_size,
            progress=not getattr(args, "no_progress", False),
        )
    except SampleConfigError as err:
        print(f"hepml-coffea generate: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hepml-coffea generate: interrupted; no output written", file=sys.stderr)
        return 130
    print(f"wrote {path}")
    return 0
