"""Export a Keras artifact to ONNX: ``model.onnx`` beside ``model.keras``, recorded in the card.

:func:`export_onnx` converts the model's forward pass (inference mode, batch axis dynamic) with
Keras' own ONNX export (``tf2onnx`` on the TensorFlow backend), checks that ONNX Runtime
reproduces the Keras outputs, and writes the file's sha256, the opset and the exporter versions
into ``model.json``. The custom layers of :mod:`hepml_coffea.layers` export as plain ONNX
operators; only ``Log1p`` (in ``MassDependentShift``), which ``tf2onnx`` does not convert, is
rewritten as ``Log(1 + x)`` (the score is clipped to [1e-7, 1 - 1e-7] first, where the two agree
to about 1e-8).

Imports TensorFlow, Keras, tf2onnx and onnxruntime: only for training and export, never at run time.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hepml_coffea.artifacts import CARD_FILE, ONNX_FILE, ModelCard, read_card, sha256_of
from hepml_coffea.errors import ArtifactError

if TYPE_CHECKING:
    from hepml_coffea.registry import Registry

ONNX_OPSET = 17
"""The opset of the exported files: tf2onnx 1.17 writes up to 18, ONNX Runtime >= 1.14 reads 17."""
EXPORT_TOLERANCE = 1e-5
"""Largest difference from Keras, on the check inputs, that an export may have."""

_log1p_registered = False


def _register_log1p() -> None:
    """Teach tf2onnx TensorFlow's ``Log1p``, as ``Log(x + 1)`` (tf2onnx 1.17 has no handler)."""
    global _log1p_registered
    if _log1p_registered:
        return
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Log1p")
    class _Log1p:
        @classmethod
        def version_7(cls, ctx, node, **kwargs):
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
            add = ctx.insert_new_node_on_input(
                node, "Add", node.input[0], name=utils.make_name(f"{node.name}_plus_one")
            )
            add.input.append(one.output[0])
            node.type = "Log"

    _log1p_registered = True


def check_inputs(card: ModelCard, rows: int = 256, seed: int = 0) -> np.ndarray:
    """Inputs to compare an export with its Keras model on: standard normal values, and for a
    particle cloud (last feature ``mask``) a 0/1 mask with the padded rows zeroed, as real jets are."""
    x = np.random.default_rng(seed).normal(size=(rows, *card.input_shape)).astype(np.float32)
    if card.inputs and card.inputs[-1] == "mask" and len(card.input_shape) == 2:
        mask = np.arange(card.input_shape[0]) < np.arange(rows)[:, None] % card.input_shape[0] + 1
        x *= mask[..., None]
        x[..., -1] = mask
    return x


def export_onnx(
    artifact: Path | str,
    *,
    plugin_name: str | None = None,
    registry: Registry | None = None,
    opset: int = ONNX_OPSET,
) -> ModelCard:
    """Write ``model.onnx`` for the Keras artifact in ``artifact`` and record it in its card.

    The export is run on :func:`check_inputs` by ONNX Runtime and compared with Keras; a
    difference above :data:`EXPORT_TOLERANCE` raises :class:`ArtifactError` and leaves the
    artifact as it was. Returns the updated card.

    :param plugin_name: for error messages; the card's name by default.
    :param registry: supplies custom Keras objects besides :mod:`hepml_coffea.layers`.
    """
    import keras
    import onnxruntime
    import tf2onnx

    from hepml_coffea.runtime import custom_objects

    directory = Path(artifact)
    name = plugin_name or directory.name
    card = read_card(directory, name)
    if not card.sha256:
        raise ArtifactError(
            f"plugin {name!r}: {directory} has no model.keras to export; it already is ONNX-only"
        )
    if keras.backend.backend() != "tensorflow":
        raise ArtifactError(
            f"plugin {name!r}: export {directory} with KERAS_BACKEND=tensorflow (the ONNX export"
            f" here uses tf2onnx), not {keras.backend.backend()!r}"
        )
    model = keras.saving.load_model(
        directory / "model.keras",
        custom_objects=custom_objects(registry),
        compile=False,
        safe_mode=True,
    )
    _register_log1p()
    x = check_inputs(card)
    model(x[:1], training=False)  # Keras exports only a model that has been called
    expected = np.asarray(model.predict_on_batch(x))
    spec = keras.InputSpec(shape=(None, *card.input_shape), dtype="float32")
    target = directory / ONNX_FILE
    scratch = directory / f".{ONNX_FILE}.partial"
    model.export(scratch, format="onnx", verbose=False, input_signature=[spec], opset_version=opset)
    session = onnxruntime.InferenceSession(scratch, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    difference = float(np.max(np.abs(got.reshape(expected.shape) - expected)))
    if not difference <= EXPORT_TOLERANCE:
        scratch.unlink()
        raise ArtifactError(
            f"plugin {name!r}: the ONNX export of {directory / 'model.keras'} differs from Keras "
            f"by {difference:.2g} (> {EXPORT_TOLERANCE}); keep using the Keras backend for it"
        )
    scratch.replace(target)
    card = dataclasses.replace(
        card,
        onnx={
            "sha256": sha256_of(target),
            "opset": opset,
            "exporter": f"keras {keras.__version__} model.export, tf2onnx {tf2onnx.__version__}",
            "checked_with": f"onnxruntime {onnxruntime.__version__}",
            "max_abs_diff": difference,
        },
    )
    (directory / CARD_FILE).write_text(card.to_json())
    return card


class OnnxExportWarning(UserWarning):
    """A freshly trained artifact could not be exported to ONNX; it stays Keras-only."""


def export_trained_artifact(
    artifact: Path | str, *, plugin_name: str, registry: Registry | None = None
) -> ModelCard:
    """:func:`export_onnx` for an artifact training has just written, so that every trained
    model can run on either backend. An export that fails its check does not fail the
    training: it warns (:class:`OnnxExportWarning`) and the artifact stays Keras-only."""
    try:
        return export_onnx(artifact, plugin_name=plugin_name, registry=registry)
    except ArtifactError as error:
        warnings.warn(f"{error}; the artifact stays Keras-only", OnnxExportWarning, stacklevel=2)
        return read_card(Path(artifact), plugin_name)
