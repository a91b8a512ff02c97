"""Fitting a plugin's network and writing its artifact with provenance and metrics."""

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
from hepml_coffea.errors import ArtifactError
from hepml_coffea.plugin import Plugin
from hepml_coffea.training.dataset import LabelledFeatures
from hepml_coffea.training.decorrelate import Decorrelation, fit_adversary, fit_disco
from hepml_coffea.training.metrics import classifier_metrics


@dataclass
class TrainingResult:
    model: Any
    card: ModelCard
    test_scores: np.ndarray
    test_labels: np.ndarray


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

    return runtime.get_model(dataclasses.replace(plugin, artifact=artifact))


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
) -> TrainingResult:
    """Train ``plugin.build_model`` on ``data`` with early stopping; write the artifact to ``output``.

    For plugins with ``standardise`` set, features are standardised with the training split's
    mean and standard deviation, which the card stores so the runtime applies the identical
    transformation at inference. With ``decorrelation`` the tagger is trained decorrelated
    from ``data.mass`` (DisCo or an adversary, see :mod:`hepml_coffea.training.decorrelate`).

    With ``initial_artifact`` training starts from that artifact's weights (and standardisation)
    instead of a random initialisation: fine-tuning, e.g. decorrelating a tagger already trained
    on the same jets, which converges where DisCo from scratch at a large lambda does not.
    """
    if plugin.build_model is None:
        raise ValueError(f"plugin {plugin.name!r} has no build_model; it cannot be trained")
    import keras

    keras.utils.set_random_seed(seed)
    train, val, test = _split(len(data.labels), validation_fraction, test_fraction, seed)
    x = data.features.astype(np.float32)
    y = data.labels.astype(np.float32)
    initial = None if initial_artifact is None else _initial_model(plugin, Path(initial_artifact))
    preprocessing: dict[str, list[float]] = {}
    if initial is not None and initial.card.preprocessing:
        preprocessing = initial.card.preprocessing  # the weights only make sense on these inputs
        x = (x - np.asarray(preprocessing["mean"], np.float32)) / np.asarray(
            preprocessing["std"], np.float32
        )
    elif plugin.standardise:
        reduce_axes = tuple(range(x.ndim - 1))
        mean = x[train].mean(axis=reduce_axes)
        std = x[train].std(axis=reduce_axes)
        std = np.where(std > 0, std, 1.0).astype(np.float32)
        x = (x - mean) / std
        preprocessing = {"mean": mean.tolist(), "std": std.tolist()}

    model = plugin.build_model(tuple(x.shape[1:]))
    if initial is not None:
        _copy_weights(plugin, initial, model)
    optimizer = keras.optimizers.Adam(learning_rate)
    callbacks = [
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        # a plateau halves the step size long before early stopping gives up
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=max(1, patience // 3)),
    ]
    if decorrelation is None:
        model.compile(
            optimizer=optimizer, loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")]
        )
        history = model.fit(
            x[train],
            y[train],
            validation_data=(x[val], y[val]),
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
            callbacks=callbacks,
        ).history
    elif decorrelation.method == "disco":
        history = fit_disco(
            model,
            x,
            y,
            data.mass,
            train,
            val,
            decorrelation=decorrelation,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            callbacks=callbacks,
            verbose=verbose,
        )
    else:
        history = fit_adversary(
            model,
            x,
            y,
            data.mass,
            train,
            val,
            decorrelation=decorrelation,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            patience=patience,
            seed=seed,
            verbose=verbose,
        )
    scores = np.asarray(model.predict(x[test], batch_size=4096, verbose=0)).reshape(-1)
    metrics = classifier_metrics(scores, y[test])
    metrics["epochs_trained"] = len(history["loss"])
    metrics["parameters"] = int(model.count_params())
    metrics["evaluated_on"] = "held-out test split of the training samples"

    record = {
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "samples": [{"file": Path(f).name, "sha256": sha256_of(Path(f))} for f in data.files],
        "n_jets": {"signal": int(data.labels.sum()), "background": int((data.labels == 0).sum())},
        "split": {"train": len(train), "validation": len(val), "test": len(test), "seed": seed},
        "fit": {
            "epochs_max": epochs,
            "batch_size": batch_size,
            "patience": patience,
            "learning_rate": learning_rate,
            "loss": "binary_crossentropy",
            "lr_schedule": "halved after patience // 3 epochs without improvement",
            "decorrelation": None if decorrelation is None else decorrelation.record(),
            "initialised_from": None
            if initial is None
            else {
                "artifact": str(initial_artifact),
                "name": initial.card.name,
                "sha256": initial.card.sha256,
            },
        },
        "versions": _versions(),
        **(provenance or {}),
    }
    card = write_artifact(
        output,
        model,
        name=plugin.name,
        inputs=list(plugin.feature_names),
        input_shape=list(x.shape[1:]),
        outputs=[o.name for o in plugin.outputs],
        preprocessing=preprocessing,
        provenance=record,
        metrics=metrics,
    )
    return TrainingResult(model=model, card=card, test_scores=scores, test_labels=y[test])
