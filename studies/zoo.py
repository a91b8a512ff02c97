"""The tagger-zoo samples (made by studies/tagger_zoo.sh) as command-line defaults."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ZOO = Path(os.environ.get("HEPML_COFFEA_ZOO", "~/.cache/hepml-coffea/zoo")).expanduser()


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    """``--signal``/``--background`` (training) and ``--test-signal``/``--test-background`` (held out)."""
    parser.add_argument(
        "--signal",
        type=Path,
        nargs="+",
        default=[ZOO / "ttbar_100000_seed31.root", ZOO / "ttbar_25000_seed21.root"],
    )
    parser.add_argument(
        "--background",
        type=Path,
        nargs="+",
        default=[ZOO / "qcd_60000_seed32.root", ZOO / "qcd_25000_seed22.root"],
    )
    add_test_arguments(parser)


def add_test_arguments(parser: argparse.ArgumentParser) -> None:
    """``--test-signal``/``--test-background``: the held-out samples every quoted number comes from."""
    # 1/JSD50 needs many QCD jets passing a tight cut (see inv_jsd_ceiling): two held-out QCD samples
    parser.add_argument(
        "--test-signal", type=Path, nargs="+", default=[ZOO / "ttbar_170000_seed101.root"]
    )
    parser.add_argument(
        "--test-background",
        type=Path,
        nargs="+",
        default=[ZOO / "qcd_105000_seed102.root", ZOO / "qcd_200000_seed105.root"],
    )


def add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """``--validation-signal``/``--validation-background``: for choosing among trained variants."""
    parser.add_argument(
        "--validation-signal", type=Path, nargs="+", default=[ZOO / "ttbar_30000_seed104.root"]
    )
    parser.add_argument(
        "--validation-background", type=Path, nargs="+", default=[ZOO / "qcd_60000_seed103.root"]
    )


def add_calibration_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calibration-signal``/``--calibration-background``: for fitting mass-dependent working
    points on jets no network was trained on (studies/select_mass_profile.py)."""
    parser.add_argument(
        "--calibration-signal", type=Path, nargs="+", default=[ZOO / "ttbar_100000_seed107.root"]
    )
    parser.add_argument(
        "--calibration-background", type=Path, nargs="+", default=[ZOO / "qcd_200000_seed106.root"]
    )
