"""Anomaly-score artifacts without training state.

``training.fit`` compiles the autoencoder before it wraps it in the scoring model, so a saved
``model.keras`` carries the nested autoencoder's Adam moments (twice the weights again, never
read at inference). :func:`without_training_state` rebuilds a model from its configuration with
every ``compile_config`` removed, so no nested model is compiled, and copies the weights;
:func:`slim_artifact` rewrites an artifact that way and updates its card's sha256.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from hepml_coffea.artifacts import CARD_FILE, ONNX_FILE, WEIGHTS_FILE, ModelCard, sha256_of


def _drop_compile_configs(config: Any) -> Any:
    if isinstance(config, dict):
        return {k: _drop_compile_configs(v) for k, v in config.items() if k != "compile_config"}
    if isinstance(config, list):
        return [_drop_compile_configs(v) for v in config]
    return config


def without_training_state(model: Any) -> Any:
    """A copy of the ``keras.Model`` ``model`` with the same weights and no optimizer at any depth."""
    clone = model.__class__.from_config(_drop_compile_configs(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone


def slim_artifact(
    directory: Path, custom_objects: dict[str, type], base_sha256: dict[str, str] | None = None
) -> ModelCard:
    """Re-save ``directory``'s ``model.keras`` without training state; the card's sha256 (and, in
    a profiled card, ``provenance.fit.base.sha256``, from ``base_sha256`` = {old: new}) follow.

    A ``model.onnx`` beside it is left as it is (the network and its weights are unchanged), its
    card entry too. Returns the new card.
    """
    import keras

    directory = Path(directory)
    card = ModelCard(**json.loads((directory / CARD_FILE).read_text()))
    model = keras.saving.load_model(
        directory / WEIGHTS_FILE, custom_objects=custom_objects, compile=False, safe_mode=True
    )
    slim = without_training_state(model)
    slim.save(directory / WEIGHTS_FILE)
    provenance = dict(card.provenance)
    base = provenance.get("fit", {}).get("base")
    if base_sha256 and base and base.get("sha256") in base_sha256:
        provenance["fit"] = {
            **provenance["fit"],
            "base": {**base, "sha256": base_sha256[base["sha256"]]},
        }
    onnx = dict(card.onnx)
    if onnx and (directory / ONNX_FILE).exists():
        onnx["sha256"] = sha256_of(directory / ONNX_FILE)
    card = dataclasses.replace(
        card, sha256=sha256_of(directory / WEIGHTS_FILE), provenance=provenance, onnx=onnx
    )
    (directory / CARD_FILE).write_text(card.to_json())
    return card
