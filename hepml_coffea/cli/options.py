"""Options several commands share, and the help formatter of every command."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepml_coffea.arguments import positive_int


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless it has none) and keeps descriptions' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def add_executor(parser: argparse.ArgumentParser) -> None:
    from hepml_coffea.executors import EXECUTORS

    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="iterative",
        help="iterative: one process; futures: a local process pool; dask: a distributed cluster",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="local worker processes (futures, dask)"
    )


def add_output_dir(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    parser.add_argument("--output-dir", type=Path, default=Path(default), help=f"folder for {what}")


def add_quiet(
    parser: argparse.ArgumentParser, what: str = "progress bars or coffea messages"
) -> None:
    parser.add_argument("--quiet", action="store_true", help=f"no {what}")
