"""The taggers' training objective: a binary classifier of signal against background objects,
optionally decorrelated from the jet mass (DisCo or an adversary)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepml_coffea.errors import LabelledDataError
from hepml_coffea.training.callbacks import training_callbacks
from hepml_coffea.training.decorrelate import fit_adversary, fit_disco
from hepml_coffea.training.objective import Objective
from hepml_coffea.training.roc_metrics import classifier_metrics


class Classifier(Objective):
    """Binary cross-entropy on signal (1) and background (0) objects."""

    loss = "binary_crossentropy"
    needs_signal = True

    def check_data(self, plugin, data, decorrelation) -> None:
        if not data.signal_seen:
            raise LabelledDataError(
                f"plugin {plugin.name!r} is a {plugin.kind} and needs signal jets; pass --signal files"
            )

    def fit(self, model, x, data, split, *, settings, decorrelation, verbose):
        import keras

        train, val, _ = split
        y = data.labels.astype(np.float32)
        optimizer = keras.optimizers.Adam(settings.learning_rate)
        callbacks = training_callbacks(settings.patience)
        common = {"epochs": settings.epochs, "batch_size": settings.batch_size, "verbose": verbose}
        if decorrelation is None:
            model.compile(
                optimizer=optimizer,
                loss=self.loss,
                metrics=[keras.metrics.AUC(name="auc")],
            )
            history = model.fit(
                x[train], y[train], validation_data=(x[val], y[val]), callbacks=callbacks, **common
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
                optimizer=optimizer,
                callbacks=callbacks,
                **common,
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
                learning_rate=settings.learning_rate,
                patience=settings.patience,
                seed=settings.seed,
                **common,
            )
        return history, model

    def metrics(self, scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        return classifier_metrics(scores, labels)

    def summary(self, metrics: dict[str, Any]) -> str:
        return (
            f"test AUC {metrics['auc']:.4f}, "
            f"1/eps_B(eps_S=0.3) {metrics['inv_eps_b_at_eps_s_0.3']:.1f}"
        )
