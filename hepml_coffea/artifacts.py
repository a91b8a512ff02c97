"""Model artifacts: a ``model.keras`` file plus a ``model.json`` card beside it.

The card records what the network expects (feature names, input shape, standardisation
constants), what it returns, how it was trained (command, samples, seeds, versions) and how well
(metrics), and the sha256 of the weights file so a truncated or swapped file is caught before
Keras sees it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hepml_coffea.errors import ArtifactError

WEIGHTS_FILE = "model.keras"
CARD_FILE = "model.json"
CARD_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelCard:
    """The ``model.json`` card of an artifact.

    :param preprocessing: ``{"mean": [...], "std": [...]}`` with one entry per feature (last
        axis); inputs are standardised as ``(x - mean) / std`` before the network. Empty for none.
    """

    name: str
    inputs: list[str]
    input_shape: list[int]
    outputs: list[str]
    sha256: str
    preprocessing: dict[str, list[float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = CARD_FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(directory: Path, plugin_name: str) -> ModelCard:
    """Read and validate the card of the artifact in ``directory``, checking the weights' sha256."""
    directory = Path(directory)
    card_path = directory / CARD_FILE
    weights_path = directory / WEIGHTS_FILE
    for path in (card_path, weights_path):
        if not path.is_file():
            raise ArtifactError(
                f"plugin {plugin_name!r}: model artifact file {path} is missing. Reinstall the "
                f"package that provides {plugin_name!r}, or retrain it with `hepml-coffea train`."
            )
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
    actual = sha256_of(weights_path)
    if actual != card.sha256:
        raise ArtifactError(
            f"plugin {plugin_name!r}: weights file {weights_path} does not match its card "
            f"(sha256 {actual[:12]}…, card says {card.sha256[:12]}…): the file is corrupt or was "
            "replaced. Restore the original file or retrain and rewrite the artifact."
        )
    return card


def write_artifact(directory: Path, model: Any, **card_fields: Any) -> ModelCard:
    """Save ``model`` (a ``keras.Model``) and its card into ``directory``; returns the card."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / WEIGHTS_FILE
    model.save(weights_path)
    card = ModelCard(sha256=sha256_of(weights_path), **card_fields)
    (directory / CARD_FILE).write_text(card.to_json())
    return card
