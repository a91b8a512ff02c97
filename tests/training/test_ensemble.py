"""Averaging trained artifacts into one."""

import dataclasses

import numpy as np
import pytest

from hepml_coffea import runtime
from hepml_coffea.artifacts import read_card, write_artifact
from hepml_coffea.errors import ArtifactError, ConfigurationError
from hepml_coffea.training.ensemble import average_artifacts, ensemble_candidates, predict_artifacts


def _perturbed_copy(plugin, directory, scale, preprocessing=None):
    """A second artifact of ``plugin``: the fixture network with its weights scaled."""
    loaded = runtime.get_model(plugin)
    card = loaded.card
    model = loaded.model.__class__.from_config(loaded.model.get_config())
    model.set_weights([w * scale for w in loaded.model.get_weights()])
    write_artifact(
        directory,
        model,
        name=card.name,
        inputs=card.inputs,
        input_shape=card.input_shape,
        outputs=card.outputs,
        preprocessing=preprocessing or card.preprocessing,
        provenance={"purpose": "ensemble test member"},
    )
    return directory


def test_ensemble_scores_are_the_mean_of_its_members(dnn_plugin, tmp_path):
    second = _perturbed_copy(dnn_plugin, tmp_path / "second", 0.9)
    card = average_artifacts(
        dnn_plugin,
        [dnn_plugin.artifact, second],
        tmp_path / "ensemble",
        provenance={"selected_on": "a test"},
    )
    assert [member["sha256"] for member in card.provenance["ensemble_of"]] == [
        read_card(dnn_plugin.artifact, dnn_plugin.name).sha256,
        read_card(second, dnn_plugin.name).sha256,
    ]
    assert card.provenance["selected_on"] == "a test"

    x = np.random.default_rng(3).normal(size=(200, *card.input_shape)).astype(np.float32)
    members = [
        runtime.get_model(
            dataclasses.replace(dnn_plugin, name=f"member{i}", artifact=path)
        ).predict(x)
        for i, path in enumerate([dnn_plugin.artifact, second])
    ]
    assert np.abs(members[0] - members[1]).max() > 1e-3, (
        "the members must differ for the test to mean anything"
    )
    ensemble = runtime.get_model(
        dataclasses.replace(dnn_plugin, name="ensemble", artifact=tmp_path / "ensemble")
    )
    np.testing.assert_allclose(ensemble.predict(x), np.mean(members, axis=0), rtol=1e-5, atol=1e-6)


def test_ensemble_refuses_members_it_cannot_average(dnn_plugin, tmp_path):
    with pytest.raises(ConfigurationError, match="at least two member artifacts"):
        average_artifacts(dnn_plugin, [dnn_plugin.artifact], tmp_path / "one")
    card = read_card(dnn_plugin.artifact, dnn_plugin.name)
    shifted = {
        "mean": [m + 1.0 for m in card.preprocessing["mean"]],
        "std": card.preprocessing["std"],
    }
    other = _perturbed_copy(dnn_plugin, tmp_path / "other", 1.0, preprocessing=shifted)
    with pytest.raises(ArtifactError, match="standardises its inputs differently"):
        average_artifacts(dnn_plugin, [dnn_plugin.artifact, other], tmp_path / "mixed")


def test_predict_artifacts_scores_each_artifact_with_the_plugins_network(dnn_plugin, tmp_path):
    second = _perturbed_copy(dnn_plugin, tmp_path / "second", 0.8)
    x = (
        np.random.default_rng(4)
        .normal(size=(50, *read_card(second, dnn_plugin.name).input_shape))
        .astype(np.float32)
    )
    scores = predict_artifacts(dnn_plugin, {"first": dnn_plugin.artifact, "second": second}, x)
    assert list(scores) == ["first", "second"]
    for label, path in (("first", dnn_plugin.artifact), ("second", second)):
        expected = runtime.get_model(
            dataclasses.replace(dnn_plugin, name=f"check_{label}", artifact=path)
        ).predict(x)
        np.testing.assert_array_equal(
            scores[label], np.asarray(expected).reshape(len(x), -1)[:, -1]
        )
    assert not np.array_equal(scores["first"], scores["second"])


def test_ensemble_candidates_are_every_member_and_the_mean_of_every_set():
    scores = {"a": np.array([0.1, 0.2]), "b": np.array([0.3, 0.6]), "c": np.array([0.9, 1.0])}
    candidates = ensemble_candidates(scores, max_members=2)
    assert list(candidates) == [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c")]
    np.testing.assert_array_equal(candidates[("b",)], scores["b"])
    np.testing.assert_allclose(candidates[("a", "c")], [0.5, 0.6])
    assert len(ensemble_candidates(scores, max_members=3)) == 7
