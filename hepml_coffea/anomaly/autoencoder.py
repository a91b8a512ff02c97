"""The anomaly scores' training objective: an autoencoder fitted to reproduce background objects,
whose artifact scores each object by its reconstruction error (1808.08979, 1808.08992)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepml_coffea.errors import LabelledDataError, PluginDefinitionError
from hepml_coffea.training.callbacks import training_callbacks
from hepml_coffea.training.objective import Objective


class Autoencoder(Objective):
    """Mean squared reconstruction error on background only; the artifact outputs the per-object
    :class:`hepml_coffea.anomaly.score_layers.ReconstructionError`."""

    loss = "mean squared reconstruction error"
    needs_signal = False

    def check_data(self, plugin, data, decorrelation) -> None:
        if data.signal_seen or decorrelation is not None:
            raise LabelledDataError(
                f"plugin {plugin.name!r} is an anomaly score: train it on background jets only "
                "(`hepml-coffea train --background QCD.root`, no --signal, no --decorrelate)"
            )

    def check_model(self, plugin, model, input_shape) -> None:
        reconstruction = tuple(model.outputs[0].shape[1:])
        if reconstruction != tuple(input_shape):
            raise PluginDefinitionError(
                f"plugin {plugin.name!r}: its build_model returns outputs of shape {reconstruction}"
                f" for inputs of shape {tuple(input_shape)}; an anomaly score is trained as an"
                " autoencoder, whose output reconstructs its input (the same shape)"
            )

    def fit(self, model, x, data, split, *, settings, decorrelation, verbose):
        import keras

        from hepml_coffea.anomaly.score_layers import ReconstructionError

        train, val, _ = split
        model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="mse")
        history = model.fit(
            x[train],
            x[train],
            validation_data=(x[val], x[val]),
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            verbose=verbose,
            callbacks=training_callbacks(settings.patience),
        ).history
        inputs = keras.Input(shape=x.shape[1:], name="features")
        score = ReconstructionError(name="reconstruction_error")([inputs, model(inputs)])
        return history, keras.Model(inputs, score, name=model.name)

    def metrics(self, scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        quantiles = np.quantile(scores, [0.5, 0.9, 0.99])
        return {
            "score": "log mean squared reconstruction error",
            "median_score": float(quantiles[0]),
            "score_q90": float(quantiles[1]),
            "score_q99": float(quantiles[2]),
            "n_background": len(scores),
        }

    def summary(self, metrics: dict[str, Any]) -> str:
        return f"test median score {metrics['median_score']:.3f}"
