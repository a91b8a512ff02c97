"""Fitting a plugin's network and writing its artifact with provenance and metrics.

:func:`train_plugin` runs three steps: standardisation (:func:`standardisation`), the fit (a
classifier on signal and background, or, for anomaly-score plugins, an autoencoder on background
only, scored by its reconstruction error) and the provenance record (:func:`provenance_record`).
"""

from __future__ import annotations

import dataclasses
import datetime
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepml_coffea.artifacts import ModelCard, sha256_of, write_artifact
from hepml_coffea.errors import ArtifactError, ConfigurationError
from hepml_coffea.export import export_trained_artifact
from hepml_coffea.plugin import Plugin
from hepml_coffea.tensorflow_log import import_keras
from hepml_coffea.training.dataset import LabelledFeatures
from hepml_coffea.training.decorrelate import Decorrelation
from hepml_coffea.training.objective import FitSettings, Objective


@dataclass
class TrainingResult:
    model: Any
    card: ModelCard
    test_scores: np.ndarray
    test_labels: np.ndarray


def check_trainable(plugin: Plugin) -> None:
    """Refuse, in one line, a plugin without a network to train (``build_model`` unset)."""
    if plugin.build_model is None:
        raise ConfigurationError(
            f"plugin {plugin.name!r} builds no network to train "
            f"({plugin.description or 'no description'}); a fitted plugin such as pfn_ddt or "
            "jet_density is made by its study script (docs/training.md)"
        )


def _split(n: int, validation_fraction: float, test_fraction: float, seed: int):
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(n * test_fraction)
    n_val = int(n * validation_fraction)
    return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]


def _versions() -> dict[str, str]:
    import keras

    from hepml_coffea import __version__

    versions = {
        "hepml_coffea": __version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    return versions


def _initial_model(plugin: Plugin, artifact: Path):
    """The artifact to start from, loaded and checked against ``plugin`` like any inference model."""
    from hepml_coffea import runtime

    return runtime.get_model(dataclasses.replace(plugin, artifact=artifact), backend="keras")


def _copy_weights(plugin: Plugin, initial, model) -> None:
    source = initial.model.get_weights()
    target = [w.shape for w in model.get_weights()]
    if [w.shape for w in source] != target:
        raise ArtifactError(
            f"plugin {plugin.name!r}: cannot start training from {initial.card.name!r}: its network "
            f"has {len(source)} weight arrays of other shapes than the {len(target)} this plugin builds. "
            "Start from an artifact of the same architecture."
        )
    model.set_weights(source)


def standardisation(
    plugin: Plugin, x: np.ndarray, train: np.ndarray, initial=None
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """``x`` as the network will see it and the card's preprocessing constants: the initial
    artifact's (its weights only make sense on those inputs), else, for plugins with
    ``standardise``, the training split's per-feature mean and standard deviation."""
    if initial is not None and initial.card.preprocessing:
        preprocessing = initial.card.preprocessing
        mean = np.asarray(preprocessing["mean"], np.float32)
        return (x - mean) / np.asarray(preprocessing["std"], np.float32), preprocessing
    if not plugin.standardise:
        return x, {}
    reduce_axes = tuple(range(x.ndim - 1))
    mean = x[train].mean(axis=reduce_axes)
    std = x[train].std(axis=reduce_axes)
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    return (x - mean) / std, {"mean": mean.tolist(), "std": std.tolist()}


def provenance_record(
    data: LabelledFeatures,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    seed: int,
    fit: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """How the artifact was made: date, command, samples (sha256), jets, split, fit, versions."""
    train, val, test = split
    return {
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "samples": [{"file": Path(f).name, "sha256": sha256_of(Path(f))} for f in data.files],
        "trained_on": list(data.trained_on),
        "signal_seen": data.signal_seen,
        "n_jets": {"signal": int(data.labels.sum()), "background": int((data.labels == 0).sum())},
        "split": {"train": len(train), "validation": len(val), "test": len(test), "seed": seed},
        "fit": fit,
        "versions": _versions(),
        **(extra or {}),
    }


def train_plugin(
    plugin: Plugin,
    data: LabelledFeatures,
    output: Path,
    *,
    epochs: int = 100,
    batch_size: int = 256,
    patience: int = 8,
    learning_rate: float = 1e-3,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    provenance: dict[str, Any] | None = None,
    verbose: int = 2,
    decorrelation: Decorrelation | None = None,
    initial_artifact: Path | None = None,
    objective: Objective | None = None,
) -> TrainingResult:
    """Train ``plugin.build_model`` on ``data`` with early stopping; write the artifact to ``output``.

    The plugin's kind supplies the objective (:meth:`hepml_coffea.kinds.Kind.objective`): a
    classifier of signal against background for a tagger; for an anomaly score an autoencoder
    fitted to background-only ``data`` (:func:`load_background_features`), whose artifact
    outputs the per-jet reconstruction error and whose card records ``signal_seen: false``.

    For plugins with ``standardise`` set, features are standardised with the training split's
    mean and standard deviation, which the card stores so the runtime applies the identical
    transformation at inference. With ``decorrelation`` the tagger is trained decorrelated
    from ``data.mass`` (DisCo or an adversary, see :mod:`hepml_coffea.training.decorrelate`).

    With ``initial_artifact`` training starts from that artifact's weights (and standardisation)
    instead of a random initialisation: fine-tuning, e.g. decorrelating a tagger already trained
    on the same jets, which converges where DisCo from scratch at a large lambda does not.

    :param objective: how to fit; by default the one of the plugin's kind.
    """
    from hepml_coffea.registry import get_registry

    check_trainable(plugin)
    objective = objective or get_registry().kind_of(plugin).objective(plugin)
    objective.check_data(plugin, data, decorrelation)
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    split = _split(len(data.labels), validation_fraction, test_fraction, seed)
    train, val, test = split
    initial = None if initial_artifact is None else _initial_model(plugin, Path(initial_artifact))
    x, preprocessing = standardisation(plugin, data.features.astype(np.float32), train, initial)

    model = plugin.build_model(tuple(x.shape[1:]))
    objective.check_model(plugin, model, tuple(x.shape[1:]))
    if initial is not None:
        _copy_weights(plugin, initial, model)
    settings = FitSettings(epochs, batch_size, patience, learning_rate, seed)
    history, model = objective.fit(
        model, x, data, split, settings=settings, decorrelation=decorrelation, verbose=verbose
    )
    y = data.labels.astype(np.float32)
    scores = np.asarray(model.predict(x[test], batch_size=4096, verbose=0)).reshape(-1)
    metrics = objective.metrics(scores, y[test])
    metrics["epochs_trained"] = len(history["loss"])
    metrics["parameters"] = int(model.count_params())
    metrics["evaluated_on"] = "held-out test split of the training samples"

    fit = {
        **settings.record(),
        "loss": objective.loss,
        "lr_schedule": "halved after patience // 3 epochs without improvement",
        "decorrelation": None if decorrelation is None else decorrelation.record(),
        "initialised_from": None
        if initial is None
        else {
            "artifact": str(initial_artifact),
            "name": initial.card.name,
            "sha256": initial.card.sha256,
        },
    }
    card = write_artifact(
        output,
        model,
        name=plugin.name,
        inputs=list(plugin.feature_names),
        input_shape=list(x.shape[1:]),
        outputs=[o.name for o in plugin.outputs],
        preprocessing=preprocessing,
        provenance=provenance_record(data, split, seed, fit, provenance),
        metrics=metrics,
    )
    card = export_trained_artifact(output, plugin_name=plugin.name)
    return TrainingResult(model=model, card=card, test_scores=scores, test_labels=y[test])
