"""The ``hepml-coffea`` command: plugins, run, check-decorrelation, demo, train, evaluate, generate."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path

from hepml_coffea.arguments import local_file, positive_int
from hepml_coffea.errors import ConfigurationError, InputFileError, our_error
from hepml_coffea.tensorflow_log import quiet_by_default


def _cmd_plugins(args: argparse.Namespace) -> int:
    from rich.table import Table

    from hepml_coffea.display import make_console
    from hepml_coffea.registry import get_registry

    plugins = get_registry().plugins
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "kind": p.kind,
                        "collection": p.collection,
                        "outputs": {p.column_name(o): o.dtype for o in p.outputs},
                        "required_branches": list(p.required_branches),
                        "artifact": str(p.artifact) if p.artifact else None,
                        "package": p.package,
                        "description": p.description,
                    }
                    for p in plugins.values()
                ],
                indent=2,
            )
        )
        return 0
    table = Table(title=f"{len(plugins)} hepml-coffea plugins")
    for header in (
        "name",
        "kind",
        "collection",
        "outputs",
        "required branches",
        "model artifact",
        "package",
    ):
        table.add_column(header, overflow="fold")
    for p in plugins.values():
        outputs = "\n".join(
            f"{p.output_collection(o)}.{p.column_name(o)} ({o.dtype})" for o in p.outputs
        )
        artifact = "none (no network)" if p.artifact is None else str(p.artifact)
        table.add_row(
            p.name,
            p.kind,
            p.collection or "events (event-level)",
            outputs,
            ", ".join(p.required_branches),
            artifact,
            p.package,
        )
    make_console().print(table)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from coffea.util import save
    from hepml_processors import TaggingProcessor

    from hepml_coffea.display import silence_coffea
    from hepml_coffea.execution import load_fileset, run_processor

    fileset = load_fileset(args.fileset)
    _check_writable(args.output)
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


def _check_writable(path: Path) -> None:
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


def _cmd_demo(args: argparse.Namespace) -> int:
    from hepml_coffea.demo import run_demo

    return run_demo(args.output_dir, executor=args.executor, workers=args.workers, quiet=args.quiet)


def _cmd_train(args: argparse.Namespace) -> int:
    from hepml_coffea.registry import get_registry
    from hepml_coffea.training.fit import check_trainable

    registry = get_registry()
    plugin = registry.get(args.plugin)
    check_trainable(plugin)
    return registry.kind_of(plugin).train(plugin, args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from hepml_coffea.columns import resolve_plugins
    from hepml_coffea.tagging.evaluation import evaluate_taggers, evaluation_table, write_evaluation

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


def _cmd_check_decorrelation(args: argparse.Namespace) -> int:
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


def _cmd_generate(args: argparse.Namespace) -> int:
    from hepml_coffea.samples.cli import run_generate

    return run_generate(args)


DESCRIPTION = "Deep-learning outputs as columns in coffea analyses."

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


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless it has none) and keeps descriptions' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import version

    return f"%(prog)s {version('hepml-coffea')}"


def build_parser() -> argparse.ArgumentParser:
    from hepml_coffea.execution import DEFAULT_CHUNKSIZE, EXECUTORS, REMOTE_RETRIES, SCHEMAS
    from hepml_coffea.registry import PluginLoadWarning, get_registry

    kinds = get_registry().kinds

    parser = argparse.ArgumentParser(prog="hepml-coffea", formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="one of the commands above; `hepml-coffea COMMAND --help` for its options",
    )
    summaries: dict[str, str] = {}

    def command(name: str, summary: str, **kwargs) -> argparse.ArgumentParser:
        summaries[name] = summary  # listed once, in the description
        return sub.add_parser(name, description=summary, formatter_class=HelpFormatter, **kwargs)

    def add_executor(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--executor",
            choices=EXECUTORS,
            default="iterative",
            help="iterative: one process; futures: a local process pool; dask: a distributed cluster",
        )
        p.add_argument(
            "--workers", type=positive_int, default=2, help="local worker processes (futures, dask)"
        )

    def add_output_dir(p: argparse.ArgumentParser, default: str, what: str) -> None:
        p.add_argument("--output-dir", type=Path, default=Path(default), help=f"folder for {what}")

    def add_quiet(
        p: argparse.ArgumentParser, what: str = "progress bars or coffea messages"
    ) -> None:
        p.add_argument("--quiet", action="store_true", help=f"no {what}")

    p = command("plugins", "list every registered plugin")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_plugins)

    p = command(
        "run",
        "run the tagging processor over a fileset",
        epilog=f"{FILESET_HELP}\n\n{REMOTE_FILES_HELP.format(attempts=REMOTE_RETRIES + 1)}",
    )
    p.add_argument("--fileset", type=Path, required=True, help="fileset JSON file (format below)")
    p.add_argument("--plugins", required=True, help="comma-separated plugin names")
    add_executor(p)
    p.add_argument("--scheduler", help="address of a running dask scheduler (dask executor)")
    p.add_argument(
        "--chunksize", type=positive_int, default=DEFAULT_CHUNKSIZE, help="events per chunk"
    )
    p.add_argument(
        "--schema",
        choices=sorted(SCHEMAS),
        default="pfnano",
        help="NanoEvents schema: pfnano for files with PF candidates, nanoaod for plain NanoAOD",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=Path("hepml-output.coffea"),
        help="where to write the histograms and the cutflow (a .coffea file)",
    )
    p.add_argument(
        "--truth-label",
        metavar="FIELD",
        help="add a truth-label axis from this jet field (truthLabel in generated samples)",
    )
    add_quiet(p)
    p.set_defaults(func=_cmd_run)

    p = command(
        "check-decorrelation", "R50, 1/JSD50, dCor2 and sculpting plots from `run` histograms"
    )
    p.add_argument("output", type=Path, help="a .coffea file written by `hepml-coffea run`")
    p.add_argument("--signal-dataset", help="dataset of the signal jets (default: all)")
    p.add_argument("--background-dataset", help="dataset of the background jets (default: all)")
    p.add_argument(
        "--signal-label",
        type=int,
        default=1,
        help="truth label of signal jets (with --truth-label)",
    )
    p.add_argument("--background-label", type=int, default=0, help="truth label of background jets")
    add_output_dir(p, "hepml-decorrelation", "the table and the sculpting plots")
    p.set_defaults(func=_cmd_check_decorrelation)

    p = command("demo", "run the main job on the real CMS files shipped with the package")
    add_executor(p)
    add_output_dir(p, "hepml-demo-output", "demo.coffea and scores.png")
    add_quiet(p)
    p.set_defaults(func=_cmd_demo)

    p = command("train", "train a plugin's network and write its artifact")
    p.add_argument(
        "--plugin", required=True, help="name of the plugin to train (see `hepml-coffea plugins`)"
    )
    p.add_argument(
        "--signal",
        type=local_file,
        nargs="+",
        help="signal NanoAOD files (none for an anomaly score, trained on --background only)",
    )
    p.add_argument(
        "--background",
        type=local_file,
        nargs="+",
        help="background NanoAOD files (required but for a pileup regression)",
    )
    p.add_argument(
        "--signal-label", type=int, default=1, help="FatJet_truthLabel of signal jets (1 = top)"
    )
    p.add_argument("--output", type=Path, help="artifact directory (default: the plugin's own)")
    for kind in kinds.values():
        kind.add_train_arguments(p)
    p.add_argument("--max-per-class", type=positive_int, help="cap on jets per class")
    p.add_argument(
        "--epochs",
        type=int,
        default=100,
        help="most epochs to train (early stopping may end sooner)",
    )
    p.add_argument("--batch-size", type=positive_int, default=256, help="jets per training step")
    p.add_argument(
        "--patience",
        type=int,
        default=8,
        help="epochs without validation improvement before stopping",
    )
    p.add_argument("--learning-rate", type=float, default=1e-3, help="initial Adam learning rate")
    p.add_argument(
        "--init-from",
        type=Path,
        metavar="ARTIFACT",
        help="start from this artifact's weights (same architecture), e.g. to decorrelate a trained tagger",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the data split, the shuffling and the weights"
    )
    p.add_argument(
        "--decorrelate",
        choices=("disco", "adversary"),
        help="train decorrelated from the jet mass (DisCo loss or a mass adversary)",
    )
    p.add_argument(
        "--lambda", dest="strength", type=float, default=10.0, help="decorrelation strength lambda"
    )
    p.add_argument(
        "--flatten-mass",
        action="store_true",
        help="weight background jets to a flat mass distribution in the decorrelation term",
    )
    p.set_defaults(func=_cmd_train)

    p = command("evaluate", "compare taggers on labelled samples: table and ROC curves")
    p.add_argument("--plugins", required=True, help="comma-separated plugin names")
    p.add_argument(
        "--signal", type=local_file, nargs="+", required=True, help="signal NanoAOD files"
    )
    p.add_argument(
        "--background", type=local_file, nargs="+", required=True, help="background NanoAOD files"
    )
    p.add_argument(
        "--signal-label", type=int, default=1, help="FatJet_truthLabel of signal jets (1 = top)"
    )
    p.add_argument("--max-per-class", type=positive_int, help="cap on jets per class")
    p.add_argument("--seed", type=int, default=0, help="seed of the jet shuffling")
    add_output_dir(p, "hepml-evaluation", "the table, the ROC curves and their provenance")
    add_quiet(p, "progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = command("generate", "generate PFNano-like samples with Pythia8 + fastjet")
    from hepml_coffea.samples.cli import add_generate_arguments

    add_generate_arguments(p)
    p.set_defaults(func=_cmd_generate)

    for kind in kinds.values():  # the commands a kind adds, e.g. evaluate-pileup
        for kind_command in kind.commands():
            if kind_command.name in summaries:
                warnings.warn(
                    f"hepml-coffea: {kind!r} adds command {kind_command.name!r}, which exists;"
                    " it is skipped",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            p = command(kind_command.name, kind_command.summary)
            kind_command.add_arguments(p)
            p.set_defaults(func=kind_command.run)

    width = max(map(len, summaries)) + 2
    parser.description = "\n".join(
        [
            f"{DESCRIPTION}\n\ncommands:",
            *(f"  {name:<{width}}{summary}" for name, summary in summaries.items()),
        ]
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((word for word in argv if not word.startswith("-")), "")
    quiet_by_default()  # TensorFlow's INFO and WARNING lines only when the user asks for them
    try:  # the parser asks the registry for the kinds' commands: its errors are ours too
        args = build_parser().parse_args(argv)
        args.command_line = " ".join(["hepml-coffea", *argv])
        return args.func(args)
    except Exception as exc:
        cause = our_error(exc)
        if cause is None:  # not a user error: a bug keeps its traceback
            raise
        print(f"hepml-coffea {command}: error: {cause}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
