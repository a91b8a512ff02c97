"""``hepml-coffea evaluate-anomaly``: the options and the command around
:mod:`hepml_coffea.anomaly.evaluate`."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from hepml_coffea.anomaly.anomaly_kind import ANOMALY_SCORE
from hepml_coffea.anomaly.evaluate import evaluate, plots, table
from hepml_coffea.arguments import local_file
from hepml_coffea.errors import ConfigurationError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--plugins",
        default="jet_autoencoder,jet_autoencoder_md,jet_density",
        help="comma-separated anomaly-score plugins",
    )
    p.add_argument("--qcd", type=local_file, required=True, help="held-out QCD NanoAOD file")
    p.add_argument(
        "--top",
        type=local_file,
        required=True,
        help="held-out ttbar NanoAOD file (truthLabel 1 jets)",
    )
    p.add_argument("--w", type=local_file, help="held-out W' NanoAOD file (truthLabel 2 jets)")
    p.add_argument(
        "--inverse",
        nargs="+",
        default=[],
        metavar="PLUGIN=ARTIFACT",
        help="the inverse test: each plugin with an artifact trained on top jets",
    )
    p.add_argument(
        "--output-dir", type=Path, required=True, help="folder for metrics.json, table.md and plots"
    )


def _inverse_plugins(registry, specs: list[str]):
    plugins = []
    for spec in specs:
        name, sep, artifact = spec.partition("=")
        if not sep:
            raise ConfigurationError(
                f"--inverse {spec!r}: write PLUGIN=ARTIFACT_DIR, e.g. jet_autoencoder=/tmp/ae_top"
            )
        plugins.append(dataclasses.replace(registry.get(name), artifact=Path(artifact)))
    return plugins


def run(args: argparse.Namespace) -> int:
    from hepml_coffea.inputs import check_input_file
    from hepml_coffea.registry import get_registry

    registry = get_registry()
    plugins = [registry.get(name.strip()) for name in args.plugins.split(",") if name.strip()]
    for plugin in plugins:
        if plugin.kind != ANOMALY_SCORE:
            raise ConfigurationError(
                f"plugin {plugin.name!r} is a {plugin.kind}, not an anomaly score; compare"
                " taggers with `hepml-coffea evaluate`"
            )
    signals = {"top": args.top, **({"W": args.w} if args.w else {})}
    for path in (args.qcd, *signals.values()):
        check_input_file(
            path, "Events", tree_fix="evaluate-anomaly reads NanoAOD files, whose tree is Events"
        )
    results = evaluate(plugins, args.qcd, signals, _inverse_plugins(registry, args.inverse))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    text = table(results)
    (args.output_dir / "table.md").write_text(text)
    samples = {"qcd": args.qcd.name, **{k: v.name for k, v in signals.items()}}
    summary = {"samples": samples, "signals": results["signals"], "inverse_auc": results["inverse"]}
    (args.output_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots(results, args.output_dir)
    print(text, end="")
    return 0
