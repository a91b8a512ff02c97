"""One artifact that averages the scores of several trained artifacts of the same plugin.

Averaging the scores of taggers trained with different decorrelation strengths places the
ensemble between them on the R50 / 1/JSD50 plane (see docs/decorrelation.md). The ensemble is a
single Keras model (the members side by side, then an average), so the runtime, the processors
and Dask workers use it exactly like any other artifact of the plugin.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepml_coffea.artifacts import ModelCard, write_artifact
from hepml_coffea.errors import ArtifactError, ConfigurationError
from hepml_coffea.export import export_trained_artifact
from hepml_coffea.plugin import Plugin


def average_artifacts(
    plugin: Plugin,
    members: Sequence[Path],
    output: Path,
    *,
    provenance: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> ModelCard:
    """Write to ``output`` an artifact of ``plugin`` whose scores are the mean of ``members``' scores.

    Every member must be a valid artifact of ``plugin`` with the same input standardisation
    (the ensemble applies one). The card's provenance lists each member's name, sha256 and
    training record, followed by ``provenance``.
    """
    from hepml_coffea import runtime

    if len(members) < 2:
        raise ConfigurationError(
            f"plugin {plugin.name!r}: an ensemble needs at least two member artifacts, got {len(members)}"
        )
    import keras

    loaded = [
        runtime.get_model(dataclasses.replace(plugin, artifact=Path(member)), backend="keras")
        for member in members
    ]
    first = loaded[0].card
    for member, model in zip(members[1:], loaded[1:], strict=False):
        if model.card.preprocessing != first.preprocessing:
            raise ArtifactError(
                f"plugin {plugin.name!r}: ensemble member {member} standardises its inputs differently "
                f"from {members[0]}; average only artifacts trained on the same standardisation"
            )
    inputs = keras.Input(shape=tuple(first.input_shape), name="inputs")
    # each member gets a wrapper of its own name: the loaded networks may share one
    scores = [
        keras.Model(m.model.inputs[0], m.model.outputs[0], name=f"member_{i}")(inputs)
        for i, m in enumerate(loaded)
    ]
    ensemble = keras.Model(
        inputs, keras.layers.Average(name="mean_score")(scores), name=f"{plugin.name}_ensemble"
    )
    record = {
        "ensemble_of": [
            {
                "artifact": str(member),
                "name": model.card.name,
                "sha256": model.card.sha256,
                "provenance": model.card.provenance,
            }
            for member, model in zip(members, loaded, strict=False)
        ],
        **(provenance or {}),
    }
    write_artifact(
        output,
        ensemble,
        name=plugin.name,
        inputs=list(first.inputs),
        input_shape=list(first.input_shape),
        outputs=list(first.outputs),
        preprocessing=first.preprocessing,
        provenance=record,
        metrics=metrics or {},
    )
    return export_trained_artifact(output, plugin_name=plugin.name)


def predict_artifacts(
    plugin: Plugin, artifacts: Mapping[str, Path], features: np.ndarray
) -> dict[str, np.ndarray]:
    """The last output of ``plugin``'s network with each of ``artifacts``' weights on ``features``, by label."""
    from hepml_coffea import runtime

    scores = {}
    for index, (label, directory) in enumerate(artifacts.items()):
        variant = dataclasses.replace(plugin, name=f"combination_{index}", artifact=directory)
        scores[label] = np.asarray(runtime.get_model(variant).predict(features)).reshape(
            len(features), -1
        )[:, -1]
    return scores


def ensemble_candidates(
    scores: Mapping[str, np.ndarray], max_members: int
) -> dict[tuple[str, ...], np.ndarray]:
    """Every member alone and the mean score of every set of 2 to ``max_members`` members, keyed by the set."""
    return {
        members: np.mean([scores[m] for m in members], axis=0)
        for size in range(1, max_members + 1)
        for members in itertools.combinations(scores, size)
    }
