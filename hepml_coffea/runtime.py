"""Running Keras models inside coffea: load once per process, infer in mini-batches, compiled.

* A model is loaded the first time a partition needs it in a process and cached by artifact
  path; Dask workers therefore load each model once, never once per chunk, and nothing is
  loaded while a dask graph is built.
* Inference runs ``predict_on_batch`` (a compiled function in every Keras backend) over
  mini-batches. Batches are padded to a small set of shapes (the batch size, or a power of two
  below it) so the compiled function is traced a bounded number of times.
* ``HEPML_COFFEA_BATCH_SIZE`` and ``HEPML_COFFEA_THREADS`` (TensorFlow intra- and inter-op
  threads) set the defaults, read when they are used; :func:`configure` overrides them in code.
* Models are loaded with the core's layers (:mod:`hepml_coffea.layers`) and the custom objects of
  the caller's registry (the process-wide one by default).
"""

from __future__ import annotations

import os
import threading
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepml_coffea.artifacts import WEIGHTS_FILE, ModelCard, read_card
from hepml_coffea.errors import ArtifactError, ConfigurationError, InvalidInputError
from hepml_coffea.plugin import Plugin

if TYPE_CHECKING:
    from hepml_coffea.registry import Registry

DEFAULT_BATCH_SIZE = 4096
BATCH_SIZE_ENV = "HEPML_COFFEA_BATCH_SIZE"
THREADS_ENV = "HEPML_COFFEA_THREADS"
_MIN_BUCKET = 16


class RuntimeSettings:
    """The inference settings of this process: what :func:`configure` set, else the environment
    variables, read (and checked) each time a setting is used, so a bad value never breaks an import."""

    def __init__(self) -> None:
        self.configured_batch_size: int | None = None
        self.configured_threads: int | None = None

    @property
    def batch_size(self) -> int:
        """Objects per inference batch: :func:`configure`, else ``HEPML_COFFEA_BATCH_SIZE``, else 4096."""
        if self.configured_batch_size is not None:
            return self.configured_batch_size
        return _from_environment(BATCH_SIZE_ENV, 1024) or DEFAULT_BATCH_SIZE

    @property
    def threads(self) -> int | None:
        """TensorFlow threads: :func:`configure`, else ``HEPML_COFFEA_THREADS``, else TensorFlow's default."""
        if self.configured_threads is not None:
            return self.configured_threads
        return _from_environment(THREADS_ENV, 4)


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
        settings.configured_batch_size = _positive(
            "configure(batch_size=...)", batch_size, "batch_size=1024"
        )
    if threads is not None:
        settings.configured_threads = _positive("configure(threads=...)", threads, "threads=4")


def _positive(what: str, value: object, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigurationError(
            f"{what} must be a positive integer, got {value!r}; e.g. {example}"
        )
    return int(value)


def _from_environment(name: str, example: int) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"{name}={raw!r} is not a positive integer; set e.g. {name}={example}, or unset it"
        )
    return value


def load_count() -> int:
    """How many models this process has loaded from disk (tests use it to prove caching)."""
    return _loads


def _apply_thread_settings() -> None:
    global _threads_applied
    count = settings.threads
    if _threads_applied or count is None:
        return
    _threads_applied = True
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
    except RuntimeError:
        warnings.warn(
            f"hepml-coffea: TensorFlow was initialised before {THREADS_ENV} could be applied;"
            " set it (or call configure(threads=...)) before the first model is loaded",
            stacklevel=3,
        )


class LoadedModel:
    """A Keras model with its card, ready to infer on feature arrays."""

    def __init__(self, plugin: Plugin, model: Any, card: ModelCard):
        self.plugin_name = plugin.name
        self.model = model
        self.card = card
        self.input_shape = tuple(card.input_shape)
        mean = card.preprocessing.get("mean")
        std = card.preprocessing.get("std")
        self._mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self._scale = None if std is None else 1.0 / np.asarray(std, dtype=np.float32)

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """``features`` as float32, standardised with the card's constants (unchanged without them)."""
        x = np.asarray(features, dtype=np.float32)
        return x if self._mean is None else (x - self._mean) * self._scale

    def predict(self, features: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Network output for ``features`` of shape ``(n, *input_shape)``; returns ``(n, k)``."""
        if tuple(features.shape[1:]) != self.input_shape:
            raise InvalidInputError(
                f"plugin {self.plugin_name!r}: features have shape {features.shape[1:]} per object "
                f"but the model expects {self.input_shape}. The feature builder and the artifact "
                "disagree: retrain the artifact or fix the feature builder."
            )
        x = self.standardise(features)
        batch_size = batch_size or settings.batch_size
        n = len(x)
        pieces = []
        for start in range(0, n, batch_size):
            batch = x[start : start + batch_size]
            padded = _pad_to_bucket(batch, batch_size)
            out = np.asarray(self.model.predict_on_batch(padded))
            pieces.append(out[: len(batch)])
        result = (
            np.concatenate(pieces) if pieces else np.zeros((0, len(self.card.outputs)), np.float32)
        )
        return result.reshape(n, -1)


def _pad_to_bucket(batch: np.ndarray, batch_size: int) -> np.ndarray:
    """Pad a batch with zeros to ``batch_size`` or the next power of two, whichever is smaller."""
    n = len(batch)
    bucket = min(batch_size, max(_MIN_BUCKET, 1 << (n - 1).bit_length()))
    if bucket == n:
        return batch
    padding = np.zeros((bucket - n, *batch.shape[1:]), dtype=batch.dtype)
    return np.concatenate([batch, padding])


def get_model(plugin: Plugin, registry: Registry | None = None) -> LoadedModel:
    """The loaded model of ``plugin``, loading and validating it on first use in this process.

    :param registry: whose custom Keras objects the model may use besides the core layers; the
        process-wide registry by default.
    """
    if plugin.artifact is None:
        raise ArtifactError(f"plugin {plugin.name!r} has no model artifact to load")
    key = Path(plugin.artifact).resolve()
    cached = _models.get(key)
    if cached is None:
        with _lock:
            if key not in _models:
                return _models.setdefault(key, _load(plugin, registry))
            cached = _models[key]
    # the artifact may have been loaded for another plugin: it must fit this one too
    _check_card_matches_plugin(plugin, cached.card)
    return cached


def custom_objects(registry: Registry | None = None) -> dict[str, type]:
    """The core layers and the custom objects of ``registry`` (the process-wide one by default).

    Imports Keras: call it only when a model is loaded or built.
    """
    from hepml_coffea.layers import CUSTOM_OBJECTS
    from hepml_coffea.registry import get_registry

    return {**CUSTOM_OBJECTS, **(registry or get_registry()).custom_objects()}


def _load(plugin: Plugin, registry: Registry | None) -> LoadedModel:
    global _loads
    card = read_card(plugin.artifact, plugin.name)
    _check_card_matches_plugin(plugin, card)
    _apply_thread_settings()
    import keras

    path = Path(plugin.artifact) / WEIGHTS_FILE
    try:
        model = keras.saving.load_model(
            path, custom_objects=custom_objects(registry), compile=False, safe_mode=True
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
    return f"{len(names)} features [{', '.join(names[: shown - 1])}, ..., {names[-1]}]"


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
