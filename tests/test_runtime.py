"""Model artifacts and the inference runtime: checksums, mismatches, batching, caching."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea import ArtifactError, InvalidInputError, Registry, attach, hookimpl, runtime
from hepml_coffea.artifacts import CARD_FILE, WEIGHTS_FILE, read_card, sha256_of, write_artifact
from hepml_coffea.errors import ConfigurationError
from hepml_coffea.registry import BLOCK_ENV, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP

REPOSITORY = Path(__file__).resolve().parents[1]
#: the built-in plugin packages (the built-in kinds, core behaviour, stay)
BUILTIN_ENTRY_POINTS = ",".join(
    sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name != "kinds")
)


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
    features = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32) + [
        6.3,
        80,
        0.5,
        0.6,
    ]
    standardised = loaded.standardise(features)
    assert not np.allclose(standardised, features)
    direct = np.asarray(loaded.model(standardised)).reshape(-1, 1)
    np.testing.assert_allclose(
        loaded.predict(features, batch_size=batch_size), direct, rtol=1e-5, atol=1e-6
    )


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


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )


def test_a_core_model_loads_with_no_plugin_installed():
    """particlenet_lite uses EdgeConv, MaskedPool and Channels: the runtime supplies them itself."""
    code = """
import sys
from pathlib import Path
import numpy as np
from hepml_coffea import Output, Plugin, get_registry, runtime
assert get_registry().plugins == {}, get_registry().plugins
plugin = Plugin(name="particlenet_lite", kind="tagger", collection="FatJet", required_branches=("FatJet_pt",),
                outputs=(Output("top"),), features=np.asarray, artifact=Path("plugins/artifacts/particlenet_lite"))
scores = runtime.get_model(plugin).predict(np.zeros((3, 50, 15), np.float32))
assert scores.shape == (3, 1) and np.isfinite(scores).all(), scores
assert "hepml_plugins" not in sys.modules
print("LOADED")
"""
    result = _python(code, **{DISABLE_AUTOLOAD_ENV: "1", BLOCK_ENV: BUILTIN_ENTRY_POINTS})
    assert result.returncode == 0 and result.stdout.split() == ["LOADED"], result.stderr[-2000:]


def test_the_callers_registry_supplies_custom_objects(dnn_plugin, tmp_path):
    import keras

    class Halve(keras.layers.Layer):  # known to no registry but the one passed to attach
        def call(self, inputs):
            return inputs * 0.5

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Halve()(keras.layers.Dense(1, activation="sigmoid")(inputs)))
    write_artifact(
        tmp_path / "halved",
        model,
        name="halved",
        inputs=list(dnn_plugin.feature_names),
        input_shape=[4],
        outputs=["top"],
        preprocessing={},
        provenance={},
    )
    plugin = dataclasses.replace(dnn_plugin, name="halved", artifact=tmp_path / "halved")
    with pytest.raises(ArtifactError, match="Keras cannot load"):
        attach(open_events("pfnano"), [plugin])  # the process-wide registry does not know Halve
    registry = Registry(autoload=False)
    registry.register(
        SimpleNamespace(hepml_register_custom_objects=hookimpl(lambda: {"Halve": Halve})),
        name="halve",
    )
    scores = attach(open_events("pfnano"), [plugin], registry=registry).FatJet.halved_top
    values = ak.to_numpy(ak.flatten(scores))
    # an untrained sigmoid: some scores underflow to 0 (float32), none may exceed the halved 1
    assert len(values) > 0 and 0 <= values.min() and 0 < values.max() <= 0.5


class _RecordingModel(runtime.LoadedModel):
    """A loaded model whose network records the length of every batch it is given."""

    def __init__(self, plugin):
        super().__init__(plugin, None, read_card(plugin.artifact, plugin.name))
        self.batches: list[int] = []

    def infer(self, batch):
        self.batches.append(len(batch))
        return np.zeros((len(batch), 1), np.float32)


@pytest.fixture
def fresh_settings(monkeypatch):
    monkeypatch.setattr(runtime.config, "settings", runtime.RuntimeSettings())
    return runtime.config.settings


def _batches(plugin, n: int) -> list[int]:
    model = _RecordingModel(plugin)
    model.predict(np.ones((n, 4)))
    return model.batches


def test_batch_size_comes_from_the_environment_unless_configured(
    dnn_plugin, fresh_settings, monkeypatch
):
    assert _batches(dnn_plugin, 5000) == [runtime.DEFAULT_BATCH_SIZE, 904]  # no padding
    monkeypatch.setenv("HEPML_COFFEA_BATCH_SIZE", "7")
    assert _batches(dnn_plugin, 20) == [7, 7, 6]
    runtime.configure(batch_size=32)
    assert _batches(dnn_plugin, 40) == [32, 8]


def test_a_card_batch_size_is_the_models_default(artifact_copy, fresh_settings, monkeypatch):
    plugin, directory = artifact_copy
    _edit_card(directory, batch_size=300)
    assert _batches(plugin, 700) == [300, 300, 100]
    monkeypatch.setenv("HEPML_COFFEA_BATCH_SIZE", "500")  # an explicit setting wins
    assert _batches(plugin, 700) == [500, 200]


@pytest.mark.parametrize("n", [1, 3, 17, 1025, 2049])
def test_every_batch_length_runs_unpadded_and_matches_a_single_call(dnn_plugin, n):
    """The compiled call takes any batch length (no padding) and gives the plain call's outputs."""
    loaded = runtime.get_model(dnn_plugin, backend="keras")
    features = np.random.default_rng(n).normal(size=(n, 4)).astype(np.float32) * 3 + 5
    direct = np.asarray(loaded.model(loaded.standardise(features), training=False))
    np.testing.assert_allclose(loaded.predict(features, batch_size=1000), direct, atol=1e-6)
    assert len(loaded.infer(loaded.standardise(features))) == n


def test_the_compiled_keras_call_is_traced_once_for_all_batch_lengths(dnn_plugin):
    loaded = runtime.get_model(dnn_plugin, backend="keras")
    for n in (1, 5, 1025, 4096, 333):
        loaded.predict(np.zeros((n, 4), np.float32))
    assert loaded.trace_count == 1


@pytest.mark.parametrize("value", ["lots", "0", "-3", "2.5"])
def test_a_bad_environment_value_is_a_clear_error_when_used(
    dnn_plugin, fresh_settings, monkeypatch, value
):
    monkeypatch.setenv("HEPML_COFFEA_BATCH_SIZE", value)
    with pytest.raises(
        ConfigurationError,
        match=rf"HEPML_COFFEA_BATCH_SIZE='{value}' is not a positive "
        r"integer; set e\.g\. HEPML_COFFEA_BATCH_SIZE=1024",
    ):
        _batches(dnn_plugin, 3)
    monkeypatch.setenv("HEPML_COFFEA_THREADS", value)
    with pytest.raises(ConfigurationError, match="HEPML_COFFEA_THREADS=4"):
        _ = fresh_settings.threads


def test_a_bad_environment_value_does_not_break_the_import():
    code = "import hepml_coffea, hepml_coffea.runtime; print(len(hepml_coffea.get_registry().plugins) > 5)"
    result = _python(code, HEPML_COFFEA_BATCH_SIZE="lots", HEPML_COFFEA_THREADS="many")
    assert result.returncode == 0 and result.stdout.split() == ["True"], result.stderr[-2000:]


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 0}, {"batch_size": 2.0}, {"threads": -1}, {"threads": "4"}]
)
def test_configure_refuses_what_is_not_a_positive_integer(fresh_settings, kwargs):
    with pytest.raises(
        ConfigurationError, match=rf"configure\({next(iter(kwargs))}=\.\.\.\) must be a positive"
    ):
        runtime.configure(**kwargs)
    assert (
        fresh_settings.configured_batch_size is None and fresh_settings.configured_threads is None
    )


@pytest.mark.parametrize("configure, expected", [("", 3), ("runtime.configure(threads=2)", 2)])
def test_threads_reach_tensorflow_when_the_first_model_loads(dnn_plugin, configure, expected):
    code = f"""
import dataclasses
from pathlib import Path
import numpy as np
import tensorflow as tf
from hepml_coffea import get_registry, runtime
{configure}
plugin = dataclasses.replace(get_registry().get("substructure_dnn"), artifact=Path({str(dnn_plugin.artifact)!r}))
runtime.get_model(plugin).predict(np.zeros((2, 4), np.float32))
print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
"""
    result = _python(code, HEPML_COFFEA_THREADS="3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(expected)] * 2
