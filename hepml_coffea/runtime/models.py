"""The two backends behind one interface, :class:`LoadedModel`: Keras (``model.keras``) and ONNX
Runtime (``model.onnx``), each loaded and checked against its card and plugin."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepml_coffea.artifacts import ONNX_FILE, WEIGHTS_FILE, ModelCard
from hepml_coffea.errors import ArtifactError, InvalidInputError
from hepml_coffea.plugin import Plugin
from hepml_coffea.runtime import config
from hepml_coffea.tensorflow_log import import_keras

if TYPE_CHECKING:
    from hepml_coffea.registry import Registry


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
        #: {input name: shape per object} of a model with named inputs; empty for one input
        self.named_inputs = {name: tuple(shape) for name, shape in card.named_inputs.items()}
        mean = card.preprocessing.get("mean")
        std = card.preprocessing.get("std")
        self._mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self._scale = None if std is None else 1.0 / np.asarray(std, dtype=np.float32)

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """``features`` as float32, standardised with the card's constants (unchanged without them)."""
        x = np.asarray(features, dtype=np.float32)
        return x if self._mean is None else (x - self._mean) * self._scale

    def predict(
        self,
        features: np.ndarray | Mapping[str, np.ndarray],
        batch_size: int | None = None,
        *,
        plugin_name: str | None = None,
    ) -> np.ndarray:
        """Network output for ``features`` of shape ``(n, *input_shape)``, or ``{input name:
        (n, *shape)}`` for a model with named inputs; returns ``(n, k)``.

        :param plugin_name: the plugin asking, for messages (the model may be shared by several
            plugins of one artifact); by default the one that loaded it.
        """
        who = plugin_name or self.plugin_name
        if self.named_inputs:
            x = self._checked_named(features, who)
            n = len(next(iter(x.values())))

            def rows(start: int, stop: int):
                return {name: values[start:stop] for name, values in x.items()}
        else:
            x = self._checked_single(features, who)
            n = len(x)

            def rows(start: int, stop: int):
                return x[start:stop]

        batch_size = batch_size or config.settings.batch_size_for(self.card)
        pieces = [
            np.asarray(self.infer(rows(start, start + batch_size))).reshape(
                min(batch_size, n - start), -1
            )
            for start in range(0, n, batch_size)
        ]
        result = (
            np.concatenate(pieces) if pieces else np.zeros((0, len(self.card.outputs)), np.float32)
        )
        return result.reshape(n, -1)

    def _checked_single(self, features, who: str) -> np.ndarray:
        if isinstance(features, Mapping):
            raise InvalidInputError(
                f"plugin {who!r}: its feature builder returns named inputs "
                f"{sorted(features)} but the model takes one input of shape {self.input_shape};"
                " return one array, or use a model (and card) with named_inputs"
            )
        if tuple(features.shape[1:]) != self.input_shape:
            raise InvalidInputError(
                f"plugin {who!r}: features have shape {features.shape[1:]} per object "
                f"but the model expects {self.input_shape}. The feature builder and the artifact "
                "disagree: retrain the artifact or fix the feature builder."
            )
        return np.ascontiguousarray(self.standardise(features))

    def _checked_named(self, features, who: str) -> dict[str, np.ndarray]:
        expected = list(self.named_inputs)
        if not isinstance(features, Mapping):
            raise InvalidInputError(
                f"plugin {who!r}: the model takes named inputs {expected}; its "
                "feature builder returns one array: return {input name: array} instead"
            )
        missing = [name for name in expected if name not in features]
        unknown = [name for name in features if name not in self.named_inputs]
        if missing or unknown:
            raise InvalidInputError(
                f"plugin {who!r}: the model takes inputs {expected}; its feature "
                f"builder gives {list(features)}"
                + (f": input(s) {missing} missing" if missing else "")
                + (f", {unknown} unknown to the model" if unknown else "")
            )
        checked = {}
        for name, shape in self.named_inputs.items():
            values = features[name]
            if tuple(values.shape[1:]) != shape:
                raise InvalidInputError(
                    f"plugin {who!r}: input {name!r} has shape {values.shape[1:]}"
                    f" per object but the model expects {shape}; fix the feature builder or the"
                    " card's named_inputs"
                )
            checked[name] = np.ascontiguousarray(values, dtype=np.float32)
        return checked

    def infer(self, batch: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        """The network on one standardised float32 batch (one per named input), of any length."""
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

    def infer(self, batch) -> np.ndarray:
        if self._call is None:
            self._call = self._compiled()
        return np.asarray(self._call(batch))

    def _compiled(self):
        import keras

        if keras.backend.backend() != "tensorflow":
            return self.model.predict_on_batch
        import tensorflow as tf

        model = self.model
        if self.named_inputs:
            spec = {
                name: tf.TensorSpec((None, *shape), tf.float32, name=name)
                for name, shape in self.named_inputs.items()
            }
        else:
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
    ``HEPML_COFFEA_THREADS``); its one input takes ``(batch, *input_shape)`` float32, or each of
    its named inputs ``(batch, *shape)``."""

    backend = "onnx"

    def __init__(self, plugin: Plugin, model: Any, card: ModelCard):
        super().__init__(plugin, model, card)
        self._input = model.get_inputs()[0].name
        self.path = Path(plugin.artifact) / ONNX_FILE

    def infer(self, batch) -> np.ndarray:
        return self.model.run(None, batch if self.named_inputs else {self._input: batch})[0]

    @property
    def parameter_count(self) -> int:
        import onnx

        graph = onnx.load(self.path, load_external_data=False).graph
        return int(sum(np.prod(t.dims) for t in graph.initializer))


def custom_objects(registry: Registry | None = None) -> dict[str, type]:
    """The core layers and the custom objects of ``registry`` (the process-wide one by default).

    Imports Keras: call it only when a model is loaded or built.
    """
    from hepml_coffea.layers import CUSTOM_OBJECTS
    from hepml_coffea.registry import get_registry

    return {**CUSTOM_OBJECTS, **(registry or get_registry()).custom_objects()}


def load_keras(plugin: Plugin, registry: Registry | None, card: ModelCard) -> KerasModel:
    keras = import_keras()  # the first import: TensorFlow's start-up log held to its level
    config.apply_thread_settings()

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
    inputs = {_keras_input_name(tensor): tuple(tensor.shape[1:]) for tensor in model.inputs}
    _check_model_matches_card(plugin, inputs, tuple(model.outputs[0].shape[1:]), card, path)
    return KerasModel(plugin, model, card)


def _keras_input_name(tensor) -> str:
    """The name a Keras input was given (``keras.Input(name=...)``), without a graph suffix."""
    return str(tensor.name).split(":")[0]


def onnx_session_options():
    """ONNX Runtime session options for this process: all graph optimisations, and
    ``HEPML_COFFEA_THREADS`` intra-op threads (one inter-op thread: the graphs run sequentially)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    threads = config.settings.threads
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def load_onnx(plugin: Plugin, card: ModelCard) -> OnnxModel:
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
    not_float = [(i.name, i.type) for i in inputs if i.type != "tensor(float)"]
    if not_float:
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} has inputs {not_float}; hepml-coffea feeds float32"
            " tensors of shape (batch, *shape): export the network with float inputs"
        )
    _check_model_matches_card(
        plugin,
        {i.name: tuple(i.shape[1:]) for i in inputs},
        tuple(outputs[0].shape[1:]),
        card,
        path,
    )
    return OnnxModel(plugin, session, card)


def check_card_matches_plugin(plugin: Plugin, card: ModelCard, registry: Registry | None) -> None:
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
    plugin: Plugin,
    model_inputs: dict[str, tuple],
    model_output: tuple,
    card: ModelCard,
    path: Path,
) -> None:
    """Inputs (by name) and output shapes per object (batch axis dropped) against the card; a
    symbolic dimension of an ONNX output (a string) is taken as one value."""
    if card.named_inputs:
        expected = {name: tuple(shape) for name, shape in card.named_inputs.items()}
        if set(model_inputs) != set(expected):
            raise ArtifactError(
                f"plugin {plugin.name!r}: {path} takes inputs {sorted(model_inputs)} but its card"
                f" names {sorted(expected)}. The card does not belong to this model."
            )
        for name, shape in expected.items():
            if model_inputs[name] != shape:
                raise ArtifactError(
                    f"plugin {plugin.name!r}: {path} takes input {name!r} of shape "
                    f"{model_inputs[name]} but its card says {shape}. The card does not belong"
                    " to this model."
                )
    elif len(model_inputs) != 1:
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} takes inputs {sorted(model_inputs)}; give its card "
            "named_inputs ({input name: shape per object}) and return {input name: array} "
            "from the feature builder"
        )
    elif next(iter(model_inputs.values())) != tuple(card.input_shape):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} takes inputs of shape "
            f"{next(iter(model_inputs.values()))} but its card says {tuple(card.input_shape)}."
            " The card does not belong to this model."
        )
    if int(np.prod([d if isinstance(d, int) else 1 for d in model_output])) != len(card.outputs):
        raise ArtifactError(
            f"plugin {plugin.name!r}: {path} returns {model_output} values per object but its "
            f"card lists outputs {card.outputs}. The card does not belong to this model."
        )
