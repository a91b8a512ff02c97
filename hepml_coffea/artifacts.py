"""Model artifacts: a ``model.json`` card with ``model.keras`` and/or ``model.onnx`` beside it.

The card records what the network expects (feature names, input shape, standardisation
constants), what it returns, how it was trained (command, samples, seeds, versions) and how well
(metrics), and the sha256 of every model file it lists, so a truncated or swapped file is caught
before Keras or ONNX Runtime sees it. A Keras artifact has ``sha256`` (of ``model.keras``); an
exported or ONNX-only one has ``onnx`` (``{"sha256": ..., "opset": ..., "exporter": ...}``, of
``model.onnx``). An ONNX-only artifact (a network trained elsewhere, e.g. in PyTorch) has no
``sha256`` and no ``model.keras``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hepml_coffea.errors import ArtifactError

WEIGHTS_FILE = "model.keras"
ONNX_FILE = "model.onnx"
CARD_FILE = "model.json"
CARD_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelCard:
    """The ``model.json`` card of an artifact.

    :param sha256: of ``model.keras``; empty for an ONNX-only artifact.
    :param preprocessing: ``{"mean": [...], "std": [...]}`` with one entry per feature (last
        axis); inputs are standardised as ``(x - mean) / std`` before the network. Empty for none.
    :param onnx: ``{"sha256": ...}`` of ``model.onnx`` plus how it was made (``opset``,
        ``exporter``, ``max_abs_diff`` against Keras); empty when there is no ONNX model.
    :param batch_size: rows per inference call for this model (memory or speed, see
        :mod:`hepml_coffea.tuning`); None for the runtime's setting.
    :param backend: the backend this model runs on unless one is asked for, where it was
        measured faster than Keras (:mod:`hepml_coffea.tuning`); None: Keras where the artifact
        has ``model.keras``, else ONNX Runtime.
    :param named_inputs: ``{input name: shape per object}`` for a model of several named inputs
        (weaver's ParticleNet takes ``pf_points``, ``pf_features``, ``pf_mask``), fed from a
        feature builder returning ``{input name: array}``; ``inputs`` then lists the names and
        ``input_shape`` is empty. Such inputs are fed as built (no ``preprocessing``).
    """

    name: str
    inputs: list[str]
    input_shape: list[int]
    outputs: list[str]
    sha256: str = ""
    preprocessing: dict[str, list[float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = CARD_FORMAT_VERSION
    onnx: dict[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    backend: str | None = None
    named_inputs: dict[str, list[int]] = field(default_factory=dict)

    @property
    def formats(self) -> tuple[str, ...]:
        """The model files this card lists: ``"keras"`` and/or ``"onnx"``."""
        return tuple(name for name, entry in (("keras", self.sha256), ("onnx", self.onnx)) if entry)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(directory: Path, plugin_name: str) -> ModelCard:
    """Read and validate the card of the artifact in ``directory``, checking the sha256 of every
    model file it lists (``model.keras``, ``model.onnx``)."""
    directory = Path(directory)
    card_path = directory / CARD_FILE
    _require_file(card_path, plugin_name)
    try:
        raw = json.loads(card_path.read_text())
        card = ModelCard(**raw)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card_path} is not a valid hepml-coffea card "
            f"({exc}). Regenerate the artifact with `hepml-coffea train`."
        ) from exc
    if card.format_version != CARD_FORMAT_VERSION:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card_path} has format version "
            f"{card.format_version}, this hepml-coffea reads version {CARD_FORMAT_VERSION}."
        )
    if not card.formats:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card_path} lists no model file: give it "
            '"sha256" (of model.keras) or "onnx": {"sha256": ...} (of model.onnx).'
        )
    if card.onnx and not isinstance(card.onnx.get("sha256"), str):
        raise ArtifactError(
            f'plugin {plugin_name!r}: model card {card_path} has an "onnx" entry without the '
            'sha256 of model.onnx; write it as "onnx": {"sha256": "<sha256sum of model.onnx>"}.'
        )
    if card.backend is not None and card.backend not in card.formats:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card_path} asks for backend {card.backend!r} but "
            f'lists only {", ".join(card.formats)}; set "backend" to one of them or to null.'
        )
    if card.named_inputs and card.preprocessing:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card_path} has named_inputs and preprocessing;"
            " a model of named inputs is fed its inputs as the feature builder builds them:"
            " apply the preprocessing there and drop it from the card"
        )
    if card.sha256:
        _check_sha256(directory / WEIGHTS_FILE, card.sha256, plugin_name, "weights file")
    if card.onnx:
        _check_sha256(directory / ONNX_FILE, card.onnx["sha256"], plugin_name, "ONNX model")
    return card


def _require_file(path: Path, plugin_name: str) -> None:
    if not path.is_file():
        raise ArtifactError(
            f"plugin {plugin_name!r}: model artifact file {path} is missing. Reinstall the "
            f"package that provides {plugin_name!r}, or retrain it with `hepml-coffea train`."
        )


def _check_sha256(path: Path, expected: str, plugin_name: str, what: str) -> None:
    _require_file(path, plugin_name)
    actual = sha256_of(path)
    if actual != expected:
        fix = (
            "re-export it with hepml_coffea.export.export_onnx"
            if path.name == ONNX_FILE
            else "retrain and rewrite the artifact"
        )
        raise ArtifactError(
            f"plugin {plugin_name!r}: {what} {path} does not match its card "
            f"(sha256 {actual[:12]}…, card says {expected[:12]}…): the file is corrupt or was "
            f"replaced. Restore the original file or {fix}."
        )


def write_artifact(directory: Path, model: Any, **card_fields: Any) -> ModelCard:
    """Save ``model`` (a ``keras.Model``) and its card into ``directory``; returns the card.

    A ``model.onnx`` left from an earlier model is removed (it would no longer match); export the
    new one with :func:`hepml_coffea.export.export_onnx`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ONNX_FILE).unlink(missing_ok=True)
    weights_path = directory / WEIGHTS_FILE
    model.save(weights_path)
    card = ModelCard(sha256=sha256_of(weights_path), **card_fields)
    (directory / CARD_FILE).write_text(card.to_json())
    return card
