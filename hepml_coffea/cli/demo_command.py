"""``hepml-coffea demo``: the main job on the real CMS files shipped with the package."""

from __future__ import annotations

import argparse

from hepml_coffea.cli.options import add_executor, add_output_dir, add_quiet

NAME = "demo"
SUMMARY = "run the main job on the real CMS files shipped with the package"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_executor(parser)
    add_output_dir(parser, "hepml-demo-output", "demo.coffea and scores.png")
    add_quiet(parser)


def run(args: argparse.Namespace) -> int:
    from hepml_coffea.demo import run_demo

    return run_demo(args.output_dir, executor=args.executor, workers=args.workers, quiet=args.quiet)
