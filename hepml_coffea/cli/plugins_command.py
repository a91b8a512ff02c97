"""``hepml-coffea plugins``: every registered plugin, as a table or as JSON."""

from __future__ import annotations

import argparse
import json

NAME = "plugins"
SUMMARY = "list every registered plugin"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from hepml_coffea.registry import get_registry

    plugins = get_registry().plugins
    if args.json:
        print(json.dumps([_record(p) for p in plugins.values()], indent=2))
        return 0
    _print_table(plugins)
    return 0


def _record(plugin) -> dict:
    return {
        "name": plugin.name,
        "kind": plugin.kind,
        "collection": plugin.collection,
        "outputs": {plugin.column_name(o): o.dtype for o in plugin.outputs},
        "required_branches": list(plugin.required_branches),
        "artifact": str(plugin.artifact) if plugin.artifact else None,
        "package": plugin.package,
        "description": plugin.description,
    }


def _print_table(plugins: dict) -> None:
    from rich.table import Table

    from hepml_coffea.display import make_console

    table = Table(
        title=f"{len(plugins)} hepml-coffea plugins",
        caption="Compose a constituent tagger with a weighted pileup regression as TAGGER@PILEUP,"
        " e.g. pfn@puppi",
    )
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
            f"{p.output_collection(o) or 'events'}.{p.column_name(o)} ({o.dtype})"
            for o in p.outputs
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
