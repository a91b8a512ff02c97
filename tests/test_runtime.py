"""Model artifacts and the inference runtime: checksums, mismatches, batching, caching."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea import ArtifactError, InvalidInputError, attach, runtime
from hepml_coffea.artifacts import CARD_FILE, WEIGHTS_FILE, read_card, sha256_of


@pytest.fixture
def artifact_copy(dnn_plugin, tmp_path):
    directory = tmp_path / "artifact"
    shutil.copytree(dnn_plugin.artifact, directory)
    return dataclasses.replace(dnn_plugin, artifact=directory), directory


def _edit_card(directory, **changes):
    card = json.loads((directory / CARD_FILE).read_text())
    card.update(changes)
    (directory / CARD_FILE).write_text(json.dumps(card))


def test_card_records_checksum_and_preprocessing(dnn_plugin):
    card = read_card(dnn_plugin.artifact, dnn_plugin.name)
    assert card.sha256 == sha256_of(dnn_plugin.artifact / WEIGHTS_FILE)
    assert card.inputs == list(dnn_plugin.feature_names)
    assert len(card.preprocessing["mean"]) == 4


def test_missing_artifact_names_plugin_and_file(artifact_copy):
    plugin, directory = artifact_copy
    (directory / WEIGHTS_FILE).unlink()
    with pytest.raises(ArtifactError, match=r"'substructure_dnn'.*model\.keras is missing"):
        attach(open_events("pfnano"), [plugin])


def test_corrupt_weights_fail_the_checksum(artifact_copy):
    plugin, directory = artifact_copy
    data = bytearray((directory / WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its card.*corrupt"):
        runtime.get_model(plugin)


def test_unreadable_model_file_is_an_artifact_error(artifact_copy):
    plugin, directory = artifact_copy
    (directory / WEIGHTS_FILE).write_bytes(b"not a zip archive")
    _edit_card(directory, sha256=sha256_of(directory / WEIGHTS_FILE))
    with pytest.raises(ArtifactError, match="Keras cannot load"):
        runtime.get_model(plugin)


def test_broken_card_is_an_artifact_error(artifact_copy):
    plugin, directory = artifact_copy
    (directory / CARD_FILE).write_text("{ not json")
    with pytest.raises(ArtifactError, match="not a valid hepml-coffea card"):
        runtime.get_model(plugin)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"inputs": ["pt", "mass", "tau21", "tau32"]}, "trained on features"),
        ({"outputs": ["top", "qcd"]}, "produces outputs"),
        ({"input_shape": [5]}, "takes inputs of shape"),
    ],
)
def test_mismatched_artifact_is_refused(artifact_copy, changes, message):
    plugin, directory = artifact_copy
    _edit_card(directory, **changes)
    with pytest.raises(ArtifactError, match=message):
        runtime.get_model(plugin)


def test_features_of_the_wrong_shape_are_refused(dnn_plugin):
    with pytest.raises(InvalidInputError, match="expects"):
        runtime.get_model(dnn_plugin).predict(np.zeros((3, 5), np.float32))


@pytest.mark.parametrize("batch_size", [1, 7, 16, 100, 4096])
def test_minibatching_reproduces_a_single_call(dnn_plugin, batch_size):
    loaded = runtime.get_model(dnn_plugin)
    features = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32) + [6.3, 80, 0.5, 0.6]
    standardised = (features - loaded._mean) * loaded._scale
    direct = np.asarray(loaded.model(standardised)).reshape(-1, 1)
    np.testing.assert_allclose(loaded.predict(features, batch_size=batch_size), direct, rtol=1e-5, atol=1e-6)


def test_model_is_loaded_once_per_process(dnn_plugin):
    first = runtime.get_model(dnn_plugin)
    loads = runtime.load_count()
    for _ in range(3):
        assert runtime.get_model(dnn_plugin) is first
    attach(open_events("pfnano"), [dnn_plugin])
    assert runtime.load_count() == loads


def test_a_cached_model_is_checked_against_every_plugin_that_uses_it(dnn_plugin):
    from hepml_coffea import get_registry

    runtime.get_model(dnn_plugin)  # now cached for this artifact path
    stranger = dataclasses.replace(get_registry().get("pfn"), artifact=dnn_plugin.artifact)
    with pytest.raises(ArtifactError, match="'pfn'.*trained on features"):
        runtime.get_model(stranger)
