"""``hepml-coffea run``: the tagging processor over a fileset, in any executor."""

from __future__ import annotations

import argparse
import os
from contextlib import nullcontext
from pathlib import Path

from hepml_coffea.arguments import positive_int
from hepml_coffea.cli.options import add_executor, add_quiet
from hepml_coffea.errors import ConfigurationError

NAME = "run"
SUMMARY = "run the tagging processor over a fileset"

FILESET_HELP = """\
The fileset is a JSON file in coffea's format, one entry per dataset:

  {"ttbar": {"files": {"ttbar.root": "Events"}, "metadata": {"xsec": 831.8}}}

("metadata" is optional), or a plain list of files per dataset, read from the tree Events:

  {"ttbar": ["ttbar_1.root", "ttbar_2.root"], "qcd": ["qcd.root"]}

With --executor dask the files of a dataset must have the same branches, bar bools (triggers),
which coffea reads as None in the events of a file that lacks them."""

REMOTE_FILES_HELP = """\
Files may be URLs: https:// (read with aiohttp) or root:// (XRootD: pip install fsspec-xrootd,
and a grid proxy). The iterative and futures executors try a chunk of a remote file {attempts}
times before the run stops, dask once; local files are checked before the run starts."""


def epilog() -> str:
    from hepml_coffea.executors import REMOTE_RETRIES

    return f"{FILESET_HELP}\n\n{REMOTE_FILES_HELP.format(attempts=REMOTE_RETRIES + 1)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hepml_coffea.executors import DEFAULT_CHUNKSIZE, SCHEMAS

    parser.add_argument(
        "--fileset", type=Path, required=True, help="fileset JSON file (format below)"
    )
    parser.add_argument(
        "--plugins",
        required=True,
        help="comma-separated plugin names; TAGGER@PILEUP (pfn@puppi) runs a tagger on the"
        " candidates of a weighted pileup regression",
    )
    add_executor(parser)
    parser.add_argument("--scheduler", help="address of a running dask scheduler (dask executor)")
    parser.add_argument(
        "--chunksize", type=positive_int, default=DEFAULT_CHUNKSIZE, help="events per chunk"
    )
    parser.add_argument(
        "--schema",
        choices=sorted(SCHEMAS),
        default="pfnano",
        help="NanoEvents schema: pfnano for files with PF candidates, nanoaod for plain NanoAOD",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("hepml-output.coffea"),
        help="where to write the histograms and the cutflow (a .coffea file)",
    )
    parser.add_argument(
        "--truth-label",
        metavar="FIELD",
        help="add a truth-label axis from this jet field (truthLabel in generated samples)",
    )
    add_quiet(parser)


def run(args: argparse.Namespace) -> int:
    from coffea.util import save
    from hepml_processors import TaggingProcessor

    from hepml_coffea.display import silence_coffea
    from hepml_coffea.executors import run_processor
    from hepml_coffea.filesets import load_fileset

    fileset = load_fileset(args.fileset)
    check_writable(args.output)
    processor_instance = TaggingProcessor(args.plugins, truth_label=args.truth_label)
    with silence_coffea() if args.quiet else nullcontext():
        output = run_processor(
            processor_instance,
            fileset,
            executor=args.executor,
            workers=args.workers,
            chunksize=args.chunksize,
            scheduler=args.scheduler,
            schema=args.schema,
            progress=not args.quiet,
        )
    save(output, args.output)
    for dataset, counts in output["cutflow"].items():
        print(f"{dataset}: " + ", ".join(f"{step} {int(n)}" for step, n in counts.items()))
    print(f"wrote {', '.join(output['hists'])} histograms and the cutflow to {args.output}")
    return 0


def check_writable(path: Path) -> None:
    """Refuse an output path before hours of processing, not after: a folder, or one that
    cannot be made."""
    if path.is_dir() or not path.name:
        raise ConfigurationError(
            f"--output {path} is a folder; give a file, e.g. {path / 'out.coffea'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"--output {path}: its folder cannot be made ({exc.strerror})"
        ) from None
    if not os.access(path.parent, os.W_OK):
        raise ConfigurationError(f"--output {path}: its folder {path.parent} is not writable")
