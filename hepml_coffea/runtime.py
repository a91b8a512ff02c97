"""Running Keras models inside coffea: load once per process, infer in mini-batches, compiled.

* A model is loaded the first time a partition needs it in a process and cached by artifact
  path; Dask workers therefore load each model once, never once per chunk, and nothing is
  loaded while a dask graph is built.
* Inference runs ``predict_on_batch`` (a compiled function in every Keras backend) over
  mini-batches. Batches are padded to a small set of shapes (the batch size, or a power of two
  below it) so the compiled function is traced a bounded number of times.
* ``HEPML_COFFEA_BATCH_SIZE`` and ``HEPML_COFFEA_THREADS`` (TensorFlow intra-op threads) set the
  defaults; :func:`configure` overrides them in code.
"""

from __future__ import annotations

import os
import threading
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepml_coffea.artifacts import WEIGHTS_FILE, ModelCard, read_card
from hepml_coffea.errors import ArtifactError, InvalidInputError
from hepml_coffea.plugin import Plugin

DEFAULT_BATCH_SIZE = 4096
_MIN_BUCKET = 16


@dataclass
class RuntimeSettings:
    batch_size: int = int(os.environ.get("HEPML_COFFEA_BATCH_SIZE", DEFAULT_BATCH_SIZE))
    threads: int | None = (
        int(os.environ["HEPML_COFFEA_THREADS"]) if os.environ.get("HEPML_COFFEA_THREADS") else None
    )


settings = RuntimeSettings()
_models: dict[Path, LoadedModel] = {}
_lock = threading.Lock()
_loads = 0
_threads_applied = False


def configure(*, batch_size: int | None = None, threads: int | None = None) -> None:
    """Set the inference batch size and the TensorFlow thread count for this process.

    Threads only take effect before the first model is loaded in the process.
    """
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        settings.batch_size = batch_size
    if threads is not None:
        settings.threads = threads


def load_count() -> int:
    """How many models this process has loaded from disk (tests use it to prove caching)."""
    return _loads


def _apply_thread_settings() -> None:
    global _threads_applied
    if _threads_applied or settings.threads is None:
        return
    _threads_applied = True
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
        tf.config.threading.set_inter_op_parallelism_threads(settings.threads)
    except RuntimeError:
        warnings.warn(
            "hepml-coffea: TensorFlow was initialised before HEPML_COFFEA_THREADS could be applied;"
            " set it before importing TensorFlow",
            stacklevel=3,
        )


class LoadedModel:
    """A Keras model with its card, ready to infer on feature arrays."""

    def __init__(self, plugin: Plugin, model, card: ModelCard):
        self.plugin_name = plugin.name
        self.model = model
        self.card = card
        self.input_shape = tuple(card.input_shape)
        mean = card.preprocessing.get("mean")
        std = card.preprocessing.get("std")
        self._mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self._scale = None if std is None else 1.0 / np.asarray(std, dtype=np.float32)

    def predict(self, features: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Network output for ``features`` of shape ``(n, *input_shape)``; returns ``(n, k)``."""
        if tuple(features.shape[1:]) != self.input_shape:
            raise InvalidInputError(
                f"plugin {self.plugin_name!r}: features have shape {features.shape[1:]} per object "
                f"but the model expects {self.input_shape}. The feature builder and the artifact "
                "disagree: retrain the artifact or fix the feature builder."
            )
        x = np.asarray(features, dtype=np.float32)
        if self._mean is not None:
            x = (x - self._mean) * self._scale
        batch_size = batch_size or settings.batch_size
        n = len(x)
        pieces = []
        for start in range(0, n, batch_size):
            batch = x[start : start + batch_size]
            padded = _pad_to_bucket(batch, batch_size)
            out = np.asarray(self.model.predict_on_batch(padded))
            pieces.append(out[: len(batch)])
        result = np.concatenate(pieces) if pieces else np.zeros((0, len(self.card.outputs)), np.float32)
        return result.reshape(n, -1)


def _pad_to_bucket(batch: np.ndarray, batch_size: int) -> np.ndarray:
    """Pad a batch with zeros to ``batch_size`` or the next power of two, whichever is smaller."""
    n = len(batch)
    bucket = min(batch_size, max(_MIN_BUCKET, 1 << (n - 1).bit_length()))
    if bucket == n:
        return batch
    padding = np.zeros((bucket - n, *batch.shape[1:]), dtype=batch.dtype)
    return np.concatenate([batch, padding])


def get_model(plugin: Plugin) -> LoadedModel:
    """The loaded model of ``plugin``, loading and validating it on first use in this process."""
    if plugin.artifact is None:
        raise ArtifactError(f"plugin {plugin.name!r} has no model artifact to load")
    key = Path(plugin.artifact).resolve()
    cached = _models.get(key)
    if cached is None:
        with _lock:
            if key not in _models:
                return _models.setdefault(key, _load(plugin))
            cached = _models[key]
    # the artifact may have been loaded for another plugin: it must fit this one too
    _check_card_matches_plugin(plugin, cached.card)
    return cached


def _load(plugin: Plugin) -> LoadedModel:
    global _loads
    card = read_card(plugin.artifact, plugin.name)
    _check_card_matches_plugin(plugin, card)
    _apply_thread_settings()
    import keras

    from hepml_coffea.registry import get_registry

    path = Path(plugin.artifact) / WEIGHTS_FILE
    try:
        model = keras.saving.load_model(
            path, custom_objects=get_registry().custom_objects(), compile=False, safe_mode=True
        )
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise ArtifactError(
            f"plugin {plugin.name!r}: Keras cannot load {path} ({type(exc).__name__}: {exc}). "
            "If the model uses custom layers, register them through the "
            "hepml_register_custom_objects hook; otherwise retrain the artifact."
        ) from exc
    _loads += 1
    _check_model_matches_card(plugin, model, card, path)
    return LoadedModel(plugin, model, card)


def _check_card_matches_plugin(plugin: Plugin, card: ModelCard) -> None:
    where = Path(plugin.artifact)
    outputs = [output.name for output in plugin.outputs]
    if plugin.postprocess is None and card.outputs != outputs:
        raise ArtifactError(
            f"plugin {plugin.name!r}: artifact {where} produces outputs {card.outputs} but the "
            f"plugin declares {outputs}. The artifact belongs to another plugin or version."
        )
    if plugin.feature_names and list(plugin.feature_names) != list(card.inputs):
        raise ArtifactError(
            f"plugin {plugin.name!r}: artifact {where} was trained on {_feature_list(card.inputs)} but "
            f"the plugin builds {_feature_list(plugin.feature_names)}. Retrain the artifact."
        )


def _feature_list(names, shown: int = 6) -> str:
    """Feature names for an error message; a long list (a flattened cloud has 751) is abbreviated."""
    names = list(names)
    if len(names) <= shown:
        return f"features {names}"
    return f"{len(names)} features [{', '.join(names[:shown - 1])}, ..., {names[-1]}]"


def _check_model_matches_card(plugin: Plugin, model, card: ModelCard, path: Path) -> None:
    model_input = tuple(model.inputs[0].shape[1:])
    model_output = tuple(model.outputs[0].shape[1:])
    if model_input != tuple(card.input_shape):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} takes inputs of shape {model_input} but its card "
            f"says {tuple(card.input_shape)}. The card does not belong to this model."
        )
    if int(np.prod(model_output)) != len(card.outputs):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} returns {model_output} values per object but its "
            f"card lists outputs {card.outputs}. The card does not belong to this model."
        )
