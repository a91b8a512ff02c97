"""What a training objective decides: the data it needs, the fit, the loss and the test metrics.

:func:`hepml_coffea.training.train_plugin` does the generic part of every fit (the split,
standardisation, the network built by the plugin, provenance and the artifact) and asks the
plugin's kind (:meth:`hepml_coffea.kinds.Kind.objective`) for an :class:`Objective` for the rest:
a classifier of signal against background for taggers
(:class:`hepml_coffea.tagging.classifier.Classifier`), an autoencoder of background for anomaly
scores (:class:`hepml_coffea.anomaly.autoencoder.Autoencoder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from hepml_coffea.plugin import Plugin
    from hepml_coffea.training.dataset import LabelledFeatures
    from hepml_coffea.training.decorrelate import Decorrelation


@dataclass(frozen=True)
class FitSettings:
    """The optimiser settings of one fit."""

    epochs: int
    batch_size: int
    patience: int
    learning_rate: float
    seed: int

    def record(self) -> dict[str, Any]:
        return {
            "epochs_max": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "learning_rate": self.learning_rate,
        }


class Objective:
    """One way of fitting a plugin's network; subclass it for a kind's objective.

    :attr loss: the loss, as the model card records it.
    :attr needs_signal: whether it trains on signal and background (labelled) objects, rather
        than on background alone.
    """

    loss: str = ""
    needs_signal: bool = True

    def check_data(
        self, plugin: Plugin, data: LabelledFeatures, decorrelation: Decorrelation | None
    ) -> None:
        """Refuse training data (or a decorrelation) this objective cannot use, in one line."""

    def check_model(self, plugin: Plugin, model: Any, input_shape: tuple[int, ...]) -> None:
        """Refuse a network (from ``plugin.build_model``) this objective cannot fit, in one line."""

    def fit(
        self,
        model: Any,
        x: np.ndarray,
        data: LabelledFeatures,
        split: tuple[np.ndarray, np.ndarray, np.ndarray],
        *,
        settings: FitSettings,
        decorrelation: Decorrelation | None,
        verbose: int,
    ) -> tuple[dict[str, list[float]], Any]:
        """Fit ``model`` on the training and validation parts of ``split``; returns the
        history and the model the artifact holds (the scoring model)."""
        raise NotImplementedError

    def metrics(self, scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """Figures of merit of the scoring model on the held-out test split."""
        raise NotImplementedError

    def summary(self, metrics: dict[str, Any]) -> str:
        """The test metrics in a few words, for the end of ``hepml-coffea train``."""
        raise NotImplementedError
