"""``hepml-coffea train`` for a plugin whose kind fits its network with an
:class:`~hepml_coffea.training.objective.Objective`: the files through the plugin's pipeline,
the fit, and a one-line summary of the test metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepml_coffea.errors import ConfigurationError
from hepml_coffea.plugin import Plugin
from hepml_coffea.training.objective import Objective


def train_network(plugin: Plugin, args: argparse.Namespace, objective: Objective) -> int:
    from hepml_coffea.training.dataset import load_background_features, load_labelled_features
    from hepml_coffea.training.decorrelate import Decorrelation
    from hepml_coffea.training.fit import train_plugin

    if not args.background:
        raise ConfigurationError(
            f"plugin {plugin.name!r}: pass --background NanoAOD files"
            + (" and --signal files" if objective.needs_signal else "")
        )
    if args.output is None and plugin.reads:
        raise ConfigurationError(
            f"plugin {plugin.name!r} runs the network of the plugin it composes, from "
            f"{plugin.artifact}; pass --output DIR, so that training does not overwrite it"
        )
    output = args.output or plugin.artifact
    if output is None:
        raise ConfigurationError(f"plugin {plugin.name!r} has no artifact path; pass --output DIR")
    if args.flatten_mass and args.decorrelate is None:
        raise ConfigurationError(
            "--flatten-mass weights the decorrelation term; add --decorrelate disco or adversary"
        )
    decorrelation = (
        None
        if args.decorrelate is None
        else Decorrelation(args.decorrelate, args.strength, flatten_mass=args.flatten_mass)
    )
    if args.signal:  # an objective without signal refuses signal jets in check_data
        data = load_labelled_features(
            plugin,
            args.signal,
            args.background,
            signal_label=args.signal_label,
            max_per_class=args.max_per_class,
            seed=args.seed,
        )
    else:
        data = load_background_features(
            plugin, args.background, max_jets=args.max_per_class, seed=args.seed
        )
    print(
        f"training {plugin.name}: {int(data.labels.sum())} signal and "
        f"{int((data.labels == 0).sum())} background jets"
    )
    result = train_plugin(
        plugin,
        data,
        Path(output),
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        patience=args.patience,
        learning_rate=args.learning_rate,
        decorrelation=decorrelation,
        initial_artifact=args.init_from,
        objective=objective,
    )
    print(f"wrote {output}: {objective.summary(result.card.metrics)}")
    return 0
