"""Running plugin networks inside coffea: load once per process, infer in mini-batches, compiled.

* A model is loaded the first time a partition needs it in a process and cached by artifact
  path and backend; Dask workers therefore load each model once, never once per chunk, and
  nothing is loaded while a dask graph is built.
* Two backends behind one interface, :class:`LoadedModel`: ``keras`` (``model.keras``; on
  TensorFlow one ``tf.function`` traced once with a dynamic batch axis, so no batch is padded)
  and ``onnx`` (``model.onnx`` in an ONNX Runtime session; :mod:`onnxruntime` is imported only
  when such a model loads). An artifact with only ``model.onnx`` runs on ONNX Runtime.
* ``HEPML_COFFEA_BACKEND`` (``keras`` or ``onnx``, optionally followed by ``,plugin=backend``
  items), ``HEPML_COFFEA_BATCH_SIZE`` and ``HEPML_COFFEA_THREADS`` (TensorFlow intra- and
  inter-op threads, ONNX Runtime intra-op threads) set the defaults, read when they are used;
  :func:`configure` overrides them in code. A card's ``backend`` and ``batch_size``, measured
  by :mod:`hepml_coffea.tuning`, are that model's defaults.
* Keras models are loaded with the core's layers (:mod:`hepml_coffea.layers`) and the custom
  objects of the caller's registry (the process-wide one by default).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from hepml_coffea.artifacts import ONNX_FILE, WEIGHTS_FILE, ModelCard, read_card
from hepml_coffea.errors import ArtifactError
from hepml_coffea.plugin import Plugin
from hepml_coffea.runtime import config
from hepml_coffea.runtime.config import (
    BACKEND_ENV,
    BACKENDS,
    BATCH_SIZE_ENV,
    DEFAULT_BACKEND,
    DEFAULT_BATCH_SIZE,
    THREADS_ENV,
    RuntimeSettings,
    configure,
)
from hepml_coffea.runtime.models import (
    KerasModel,
    LoadedModel,
    OnnxModel,
    check_card_matches_plugin,
    custom_objects,
    load_keras,
    load_onnx,
    onnx_session_options,
)

if TYPE_CHECKING:
    from hepml_coffea.registry import Registry

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "BATCH_SIZE_ENV",
    "DEFAULT_BACKEND",
    "DEFAULT_BATCH_SIZE",
    "THREADS_ENV",
    "KerasModel",
    "LoadedModel",
    "OnnxModel",
    "RuntimeSettings",
    "clear_models",
    "config",
    "configure",
    "custom_objects",
    "get_model",
    "load_count",
    "onnx_session_options",
]

_models: dict[tuple[Path, str], LoadedModel] = {}
_lock = threading.Lock()
_loads = 0


def load_count() -> int:
    """How many models this process has loaded from disk (tests use it to prove caching)."""
    return _loads


def clear_models() -> None:
    """Forget every model this process has loaded; the next ``attach`` loads from disk again."""
    with _lock:
        _models.clear()


def get_model(
    plugin: Plugin, registry: Registry | None = None, *, backend: str | None = None
) -> LoadedModel:
    """The loaded model of ``plugin``, loading and validating it on first use in this process.

    :param registry: whose custom Keras objects the model may use besides the core layers; the
        process-wide registry by default.
    :param backend: ``"keras"`` or ``"onnx"``; by default the configured one (:func:`configure`,
        ``HEPML_COFFEA_BACKEND``), else the card's ``backend`` (the one measured fastest), else
        Keras where the artifact has ``model.keras``, else ONNX.
    """
    if plugin.artifact is None:
        raise ArtifactError(f"plugin {plugin.name!r} has no model artifact to load")
    path = Path(plugin.artifact).resolve()
    if backend is not None:
        asked, source = (
            config.backend_name("get_model(backend=...)", backend),
            "get_model(backend=...)",
        )
    else:
        asked, source = config.settings.backend_for(plugin.name)
    if asked is not None:
        cached = _models.get((path, asked))
    else:
        cached = next(
            (_models.get((path, name)) for name in BACKENDS if (path, name) in _models), None
        )
    if cached is None:
        with _lock:
            card = read_card(plugin.artifact, plugin.name)
            chosen = _choose_backend(plugin, card, asked, source)
            if (path, chosen) not in _models:
                _models[(path, chosen)] = _load(plugin, registry, card, chosen)
            cached = _models[(path, chosen)]
    # the artifact may have been loaded for another plugin: it must fit this one too
    check_card_matches_plugin(plugin, cached.card, registry)
    return cached


def _choose_backend(plugin: Plugin, card: ModelCard, asked: str | None, source: str) -> str:
    if asked is None:
        if card.backend is not None:
            return card.backend
        return DEFAULT_BACKEND if DEFAULT_BACKEND in card.formats else card.formats[0]
    if asked not in card.formats:
        missing = WEIGHTS_FILE if asked == "keras" else ONNX_FILE
        fix = (
            f"export it with hepml_coffea.export.export_onnx({str(plugin.artifact)!r})"
            if asked == "onnx"
            else "this artifact is ONNX-only"
        )
        other = next(name for name in BACKENDS if name != asked)
        raise ArtifactError(
            f"plugin {plugin.name!r}: backend {asked!r} was asked for ({source}) but artifact "
            f"{plugin.artifact} has no {missing} in its card; {fix}, or choose {other!r} for it "
            f"({BACKEND_ENV}={asked},{plugin.name}={other})"
        )
    return asked


def _load(plugin: Plugin, registry: Registry | None, card: ModelCard, backend: str) -> LoadedModel:
    global _loads
    check_card_matches_plugin(plugin, card, registry)
    loaded = load_onnx(plugin, card) if backend == "onnx" else load_keras(plugin, registry, card)
    _loads += 1
    return loaded
