"""The ``hepml-coffea`` command: one module per command, and the commands plugin kinds add.

Each command module has ``NAME``, ``SUMMARY``, ``add_arguments(parser)`` and ``run(args)``
(optionally ``epilog()``); a kind adds commands through :meth:`hepml_coffea.kinds.Kind.commands`.
Errors of ours end as one line on stderr and exit code 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from types import ModuleType

from hepml_coffea.cli import (
    check_decorrelation_command,
    demo_command,
    evaluate_command,
    generate_command,
    plugins_command,
    run_command,
    train_command,
)
from hepml_coffea.cli.options import HelpFormatter
from hepml_coffea.errors import our_error
from hepml_coffea.tensorflow_log import quiet_by_default

DESCRIPTION = "Deep-learning outputs as columns in coffea analyses."

#: the core's commands, in the order ``--help`` lists them
COMMANDS: tuple[ModuleType, ...] = (
    plugins_command,
    run_command,
    check_decorrelation_command,
    demo_command,
    train_command,
    evaluate_command,
    generate_command,
)


def _version() -> str:
    from importlib.metadata import version

    return f"%(prog)s {version('hepml-coffea')}"


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, the registered kinds' commands included."""
    from hepml_coffea.registry import PluginLoadWarning, get_registry

    parser = argparse.ArgumentParser(prog="hepml-coffea", formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="one of the commands above; `hepml-coffea COMMAND --help` for its options",
    )
    summaries: dict[str, str] = {}

    def add(name: str, summary: str, add_arguments, run, epilog: str | None = None) -> None:
        summaries[name] = summary  # listed once, in the description
        command = sub.add_parser(
            name, description=summary, formatter_class=HelpFormatter, epilog=epilog
        )
        add_arguments(command)
        command.set_defaults(func=run)

    for module in COMMANDS:
        epilog = module.epilog() if hasattr(module, "epilog") else None
        add(module.NAME, module.SUMMARY, module.add_arguments, module.run, epilog)
    for kind in get_registry().kinds.values():  # the commands a kind adds, e.g. evaluate-pileup
        for command in kind.commands():
            if command.name in summaries:
                warnings.warn(
                    f"hepml-coffea: {kind!r} adds command {command.name!r}, which exists;"
                    " it is skipped",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            add(command.name, command.summary, command.add_arguments, command.run)
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
