"""The tagger-zoo samples (made by studies/tagger_zoo.sh) as command-line defaults."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

ZOO = Path(os.environ.get("HEPML_COFFEA_ZOO", "~/.cache/hepml-coffea/zoo")).expanduser()


def _add_sample_files(parser: argparse.ArgumentParser, what: str, **defaults: list[str]) -> None:
    """One ``--<option> FILE [FILE ...]`` per keyword, defaulting to those files of the zoo."""
    for option, files in defaults.items():
        parser.add_argument(
            f"--{option.replace('_', '-')}",
            type=Path,
            nargs="+",
            default=[ZOO / name for name in files],
            help=f"{option.split('_')[-1]} samples {what}",
        )


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    """``--signal``/``--background`` (training) and ``--test-signal``/``--test-background`` (held out)."""
    _add_sample_files(
        parser,
        "to train on",
        signal=["ttbar_100000_seed31.root", "ttbar_25000_seed21.root"],
        background=["qcd_60000_seed32.root", "qcd_25000_seed22.root"],
    )
    add_test_arguments(parser)


def add_test_arguments(parser: argparse.ArgumentParser) -> None:
    """``--test-signal``/``--test-background``: the held-out samples every quoted number comes from."""
    # 1/JSD50 needs many QCD jets passing a tight cut (see inv_jsd_ceiling): two held-out QCD samples
    _add_sample_files(
        parser,
        "held out for the quoted numbers",
        test_signal=["ttbar_170000_seed101.root"],
        test_background=["qcd_105000_seed102.root", "qcd_200000_seed105.root"],
    )


def add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """``--validation-signal``/``--validation-background``: for choosing among trained variants."""
    _add_sample_files(
        parser,
        "for choosing among variants",
        validation_signal=["ttbar_30000_seed104.root"],
        validation_background=["qcd_60000_seed103.root"],
    )


def add_calibration_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calibration-signal``/``--calibration-background``: for fitting mass-dependent working
    points on jets no network was trained on (studies/select_mass_profile.py)."""
    _add_sample_files(
        parser,
        "for fitting mass-dependent working points",
        calibration_signal=["ttbar_100000_seed107.root"],
        calibration_background=["qcd_200000_seed106.root"],
    )


def study_parser(doc: str | None, *, variants: bool = False) -> argparse.ArgumentParser:
    """A study's parser, its docstring as description; ``variants``: the positional artifact
    directories of decorrelated variants."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if variants:
        parser.add_argument(
            "variants", type=Path, nargs="*", help="artifact directories of decorrelated variants"
        )
    return parser


def add_output_arguments(
    parser: argparse.ArgumentParser, output_dir: Path, record: str, figure: str
) -> None:
    """``--bootstrap``, ``--output-dir`` and ``--replot`` (redraw ``figure`` from ``record``)."""
    parser.add_argument(
        "--bootstrap", type=int, default=20, help="resamplings of the held-out jets for the spread"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=output_dir, help="where the record and figures go"
    )
    parser.add_argument(
        "--replot",
        action="store_true",
        help=f"only redraw {figure} from the {record} in --output-dir (no scoring)",
    )


def replotted(
    args: argparse.Namespace, record: str, figure: str, draw: Callable[[dict, Path], None]
) -> bool:
    """With ``--replot``: ``draw(record, figure path)`` from the stored record, and True."""
    if args.replot:
        draw(json.loads((args.output_dir / record).read_text()), args.output_dir / figure)
    return args.replot


def variant_directories(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> dict[str, Path]:
    """The positional variant artifacts by label ``<parent>/<name>``; a usage error if none."""
    if not args.variants:
        parser.error("give the artifact directories of the variants (or --replot)")
    return {f"{d.parent.name}/{d.name}": d for d in args.variants}
