"""``hepml-coffea check-decorrelation``: R50, 1/JSD50, dCor2 and sculpting plots from the
histograms ``hepml-coffea run`` wrote."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepml_coffea.cli.options import add_output_dir
from hepml_coffea.errors import InputFileError

NAME = "check-decorrelation"
SUMMARY = "R50, 1/JSD50, dCor2 and sculpting plots from `run` histograms"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path, help="a .coffea file written by `hepml-coffea run`")
    parser.add_argument("--signal-dataset", help="dataset of the signal jets (default: all)")
    parser.add_argument(
        "--background-dataset", help="dataset of the background jets (default: all)"
    )
    parser.add_argument(
        "--signal-label",
        type=int,
        default=1,
        help="truth label of signal jets (with --truth-label)",
    )
    parser.add_argument(
        "--background-label", type=int, default=0, help="truth label of background jets"
    )
    add_output_dir(parser, "hepml-decorrelation", "the table and the sculpting plots")


def run(args: argparse.Namespace) -> int:
    from coffea.util import load

    from hepml_coffea.decorrelation import decorrelation_report, report_markdown, select_classes

    if not args.output.is_file():
        raise InputFileError(args.output, "does not exist; write it with `hepml-coffea run`")
    hists = {  # the (dataset, mass, score) histograms; an output on another collection has none
        column: h
        for column, h in _run_histograms(load, args.output).items()
        if {"mass", "score"} <= set(h.axes.name)
    }
    if not hists:
        raise InputFileError(
            args.output,
            "holds no histogram of a score against the jet mass; run plugins that score jets",
        )
    classes = {
        column: select_classes(
            h,
            signal_dataset=args.signal_dataset,
            background_dataset=args.background_dataset,
            signal_label=args.signal_label,
            background_label=args.background_label,
        )
        for column, h in hists.items()
    }
    reports = decorrelation_report(classes, args.output_dir)
    print(report_markdown(reports))
    print(f"wrote the table and sculpting plots to {args.output_dir}")
    return 0


def _run_histograms(load, path: Path) -> dict:
    """The ``hists`` of a ``hepml-coffea run`` output, or one line saying ``path`` is not one."""
    from hepml_coffea.inputs import one_line

    not_run_output = "is not an output of `hepml-coffea run`"
    try:
        output = load(path)
    except Exception as exc:  # coffea.util.load raises whatever lz4 or pickle meets
        raise InputFileError(
            path, f"{not_run_output} ({one_line(type(exc).__name__, str(exc))})"
        ) from None
    if not isinstance(output, dict) or not isinstance(output.get("hists"), dict):
        raise InputFileError(path, f"{not_run_output}: it holds no 'hists' dictionary")
    return output["hists"]
