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

import os
import threading
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepml_coffea.artifacts import ONNX_FILE, WEIGHTS_FILE, ModelCard, read_card
from hepml_coffea.errors import ArtifactError, ConfigurationError, InvalidInputError
from hepml_coffea.plugin import Plugin
from hepml_coffea.tensorflow_log import import_keras

if TYPE_CHECKING:
    from hepml_coffea.registry import Registry

DEFAULT_BATCH_SIZE = 4096
DEFAULT_BACKEND = "keras"
BACKENDS = ("keras", "onnx")
BATCH_SIZE_ENV = "HEPML_COFFEA_BATCH_SIZE"
THREADS_ENV = "HEPML_COFFEA_THREADS"
BACKEND_ENV = "HEPML_COFFEA_BACKEND"


class RuntimeSettings:
    """The inference settings of this process: what :func:`configure` set, else the environment
    variables, read (and checked) each time a setting is used, so a bad value never breaks an import."""

    def __init__(self) -> None:
        self.configured_batch_size: int | None = None
        self.configured_threads: int | None = None
        self.configured_backend: str | None = None
        self.configured_plugin_backends: dict[str, str] = {}

    @property
    def batch_size(self) -> int:
        """Objects per inference batch: :func:`configure`, else ``HEPML_COFFEA_BATCH_SIZE``, else 4096."""
        return self.batch_size_for(None)

    def batch_size_for(self, card: ModelCard | None) -> int:
        """:func:`configure`, else ``HEPML_COFFEA_BATCH_SIZE``, else the card's, else 4096."""
        if self.configured_batch_size is not None:
            return self.configured_batch_size
        return (
            _from_environment(BATCH_SIZE_ENV, 1024)
            or (card.batch_size if card is not None else None)
            or DEFAULT_BATCH_SIZE
        )

    @property
    def threads(self) -> int | None:
        """Inference threads: :func:`configure`, else ``HEPML_COFFEA_THREADS``, else the library's default."""
        if self.configured_threads is not None:
            return self.configured_threads
        return _from_environment(THREADS_ENV, 4)

    def backend_for(self, plugin_name: str) -> tuple[str | None, str]:
        """The backend asked for ``plugin_name`` (None: no preference) and who asked, for messages.

        Per plugin before global, :func:`configure` before the environment.
        """
        environment = _backends_from_environment()
        for backend, source in (
            (self.configured_plugin_backends.get(plugin_name), "configure(plugin_backends=...)"),
            (environment.get(plugin_name), f"{BACKEND_ENV}={os.environ.get(BACKEND_ENV)}"),
            (self.configured_backend, "configure(backend=...)"),
            (environment.get(""), f"{BACKEND_ENV}={os.environ.get(BACKEND_ENV)}"),
        ):
            if backend is not None:
                return backend, source
        return None, "default"


settings = RuntimeSettings()
_models: dict[tuple[Path, str], LoadedModel] = {}
_lock = threading.Lock()
_loads = 0
_threads_applied = False


def configure(
    *,
    batch_size: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    plugin_backends: Mapping[str, str] | None = None,
) -> None:
    """Set the inference batch size, thread count and backend for this process.

    :param backend: ``"keras"`` or ``"onnx"`` for every plugin whose artifact has that format.
    :param plugin_backends: ``{plugin name: backend}``, before ``backend``.

    TensorFlow threads only take effect before the first model is loaded in the process; ONNX
    Runtime threads for every session created afterwards. Models already loaded keep their backend.
    """
    if batch_size is not None:
        settings.configured_batch_size = _positive(
            "configure(batch_size=...)", batch_size, "batch_size=1024"
        )
    if threads is not None:
        settings.configured_threads = _positive("configure(threads=...)", threads, "threads=4")
    if backend is not None:
        settings.configured_backend = _backend_name("configure(backend=...)", backend)
    if plugin_backends is not None:
        settings.configured_plugin_backends = {
            str(name): _backend_name(f"configure(plugin_backends={{{name!r}: ...}})", value)
            for name, value in plugin_backends.items()
        }


def _backend_name(what: str, value: object) -> str:
    if value not in BACKENDS:
        raise ConfigurationError(
            f"{what}: unknown backend {value!r}; choose one of {', '.join(BACKENDS)}"
        )
    return str(value)


def _backends_from_environment() -> dict[str, str]:
    """``HEPML_COFFEA_BACKEND`` as ``{"": global, plugin: backend}``: e.g. ``onnx,particlenet_lite=keras``."""
    raw = os.environ.get(BACKEND_ENV, "").strip()
    choices: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        plugin, _, backend = item.rpartition("=")
        if backend.strip() not in BACKENDS or (item.count("=") and not plugin.strip()):
            raise ConfigurationError(
                f"{BACKEND_ENV}={raw!r}: {item!r} is not a backend ({', '.join(BACKENDS)}) nor "
                f"plugin=backend; set e.g. {BACKEND_ENV}=onnx or {BACKEND_ENV}=keras,pfn=onnx"
            )
        choices[plugin.strip()] = backend.strip()
    return choices


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


def clear_models() -> None:
    """Forget every model this process has loaded; the next ``attach`` loads from disk again."""
    with _lock:
        _models.clear()


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
    """A network with its card, ready to infer on feature arrays; one subclass per backend.

    :attr model: the backend's object (a ``keras.Model``, an ``onnxruntime.InferenceSession``).
    """

    backend = ""

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
        x = np.ascontiguousarray(self.standardise(features))
        batch_size = batch_size or settings.batch_size_for(self.card)
        n = len(x)
        pieces = [
            np.asarray(self.infer(x[start : start + batch_size])).reshape(
                min(batch_size, n - start), -1
            )
            for start in range(0, n, batch_size)
        ]
        result = (
            np.concatenate(pieces) if pieces else np.zeros((0, len(self.card.outputs)), np.float32)
        )
        return result.reshape(n, -1)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The network on one standardised float32 batch, of any length."""
        raise NotImplementedError

    @property
    def parameter_count(self) -> int | None:
        """Trainable and other weights of the network, where the backend knows them."""
        return None


class KerasModel(LoadedModel):
    """A Keras model. On TensorFlow, a ``tf.function`` whose input has a ``None`` batch axis is
    traced once and takes every batch length as it is (no padding, no retracing); on the other
    backends ``predict_on_batch``."""

    backend = "keras"

    def __init__(self, plugin: Plugin, model: Any, card: ModelCard):
        super().__init__(plugin, model, card)
        self._call = None

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._call is None:
            self._call = self._compiled()
        return np.asarray(self._call(batch))

    def _compiled(self):
        import keras

        if keras.backend.backend() != "tensorflow":
            return self.model.predict_on_batch
        import tensorflow as tf

        model = self.model
        spec = tf.TensorSpec((None, *self.input_shape), tf.float32)
        return tf.function(lambda x: model(x, training=False), input_signature=[spec])

    @property
    def parameter_count(self) -> int:
        return int(self.model.count_params())

    @property
    def trace_count(self) -> int | None:
        """How often TensorFlow traced the compiled call (a retrace per batch length would show
        here); ``None`` before the first call and on other Keras backends."""
        counter = getattr(self._call, "experimental_get_tracing_count", None)
        return None if counter is None else int(counter())


class OnnxModel(LoadedModel):
    """An ONNX model in an ONNX Runtime CPU session (graph optimisations on, threads per
    ``HEPML_COFFEA_THREADS``); its one input takes ``(batch, *input_shape)`` float32."""

    backend = "onnx"

    def __init__(self, plugin: Plugin, model: Any, card: ModelCard):
        super().__init__(plugin, model, card)
        self._input = model.get_inputs()[0].name
        self.path = Path(plugin.artifact) / ONNX_FILE

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.model.run(None, {self._input: batch})[0]

    @property
    def parameter_count(self) -> int:
        import onnx

        graph = onnx.load(self.path, load_external_data=False).graph
        return int(sum(np.prod(t.dims) for t in graph.initializer))


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
        asked, source = _backend_name("get_model(backend=...)", backend), "get_model(backend=...)"
    else:
        asked, source = settings.backend_for(plugin.name)
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
    _check_card_matches_plugin(plugin, cached.card, registry)
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


def custom_objects(registry: Registry | None = None) -> dict[str, type]:
    """The core layers and the custom objects of ``registry`` (the process-wide one by default).

    Imports Keras: call it only when a model is loaded or built.
    """
    from hepml_coffea.layers import CUSTOM_OBJECTS
    from hepml_coffea.registry import get_registry

    return {**CUSTOM_OBJECTS, **(registry or get_registry()).custom_objects()}


def _load(plugin: Plugin, registry: Registry | None, card: ModelCard, backend: str) -> LoadedModel:
    global _loads
    _check_card_matches_plugin(plugin, card, registry)
    loaded = _load_onnx(plugin, card) if backend == "onnx" else _load_keras(plugin, registry, card)
    _loads += 1
    return loaded


def _load_keras(plugin: Plugin, registry: Registry | None, card: ModelCard) -> KerasModel:
    keras = import_keras()  # the first import: TensorFlow's start-up log held to its level
    _apply_thread_settings()

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
    _check_model_matches_card(
        plugin, tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:]), card, path
    )
    return KerasModel(plugin, model, card)


def onnx_session_options():
    """ONNX Runtime session options for this process: all graph optimisations, and
    ``HEPML_COFFEA_THREADS`` intra-op threads (one inter-op thread: the graphs run sequentially)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    threads = settings.threads
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def _load_onnx(plugin: Plugin, card: ModelCard) -> OnnxModel:
    import onnxruntime

    path = Path(plugin.artifact) / ONNX_FILE
    try:
        session = onnxruntime.InferenceSession(
            path, sess_options=onnx_session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ONNX Runtime raises its own, unexported exception classes
        raise ArtifactError(
            f"plugin {plugin.name!r}: ONNX Runtime cannot load {path} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); re-export it or use the keras backend"
        ) from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)":
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} has inputs "
            f"{[(i.name, i.type) for i in inputs]}; hepml-coffea feeds one float32 tensor of "
            f"shape (batch, *input_shape): export the network with a single float input"
        )
    _check_model_matches_card(
        plugin, tuple(inputs[0].shape[1:]), tuple(outputs[0].shape[1:]), card, path
    )
    return OnnxModel(plugin, session, card)


def _check_card_matches_plugin(plugin: Plugin, card: ModelCard, registry: Registry | None) -> None:
    """The card against the plugin's outputs and features, and its kind's card policy."""
    from hepml_coffea.registry import get_registry

    where = Path(plugin.artifact)
    (registry or get_registry()).kind_of(plugin).check_card(plugin, card)
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


def _check_model_matches_card(
    plugin: Plugin, model_input: tuple, model_output: tuple, card: ModelCard, path: Path
) -> None:
    """Input and output shapes per object (batch axis dropped) against the card; a symbolic
    dimension of an ONNX output (a string) is taken as one value."""
    if model_input != tuple(card.input_shape):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} takes inputs of shape {model_input} but its card "
            f"says {tuple(card.input_shape)}. The card does not belong to this model."
        )
    if int(np.prod([d if isinstance(d, int) else 1 for d in model_output])) != len(card.outputs):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} returns {model_output} values per object but its "
            f"card lists outputs {card.outputs}. The card does not belong to this model."
        )
