"""The ONNX Runtime backend: shipped exports agree with Keras, backend choice, checksums, threads,
and a third-party plugin that ships only ``model.onnx`` (built here with the onnx helper API)."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events
from shipped import NETWORKS

from hepml_coffea import ArtifactError, Registry, attach, get_registry, hookimpl, runtime
from hepml_coffea.artifacts import CARD_FILE, ONNX_FILE, WEIGHTS_FILE, read_card, sha256_of
from hepml_coffea.errors import ConfigurationError, HepmlCoffeaError
from hepml_coffea.export import export_onnx

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_settings(monkeypatch):
    monkeypatch.setattr(runtime.config, "settings", runtime.RuntimeSettings())
    monkeypatch.delenv(runtime.BACKEND_ENV, raising=False)
    return runtime.config.settings


def _scores(events, names, column="top"):
    decorated = attach(events, names).FatJet
    return {name: ak.to_numpy(ak.flatten(decorated[f"{name}_{column}"])) for name in names}


def test_every_shipped_network_gives_the_keras_scores_on_onnx_runtime(
    fresh_settings, monkeypatch, generated_ttbar_qcd
):
    """All eight networks, custom layers (EdgeConv, MaskedPool, Channels, MassDependentShift)
    included, on generated top and QCD jets and the real CMS jets of the shipped PFNano file."""
    from hepml_coffea.events import open_nanoaod

    samples = [open_nanoaod(path, "eager") for path in generated_ttbar_qcd]
    samples.append(open_events("pfnano"))
    compared = {name: [] for name in NETWORKS}
    for events in samples:
        monkeypatch.setenv(runtime.BACKEND_ENV, "keras")
        keras_scores = _scores(events, NETWORKS)
        monkeypatch.setenv(runtime.BACKEND_ENV, "onnx")
        onnx_scores = _scores(events, NETWORKS)
        for name in NETWORKS:
            assert runtime.get_model(get_registry().get(name)).backend == "onnx"
            assert len(keras_scores[name]) > 20, name
            np.testing.assert_allclose(
                onnx_scores[name], keras_scores[name], atol=1e-5, err_msg=name
            )
            compared[name].append(keras_scores[name])
    # top and QCD jets together span the scores: the comparison is not one of near-constants
    for name, scores in compared.items():
        assert np.ptp(np.concatenate(scores)) > 0.5, name


@pytest.mark.parametrize("name", NETWORKS)
def test_every_shipped_card_records_its_onnx_export(name):
    plugin = get_registry().get(name)
    card = read_card(plugin.artifact, name)
    assert card.formats == ("keras", "onnx")
    assert card.onnx["sha256"] == sha256_of(plugin.artifact / ONNX_FILE)
    assert card.onnx["opset"] == 17 and "tf2onnx" in card.onnx["exporter"]
    assert card.onnx["max_abs_diff"] <= 1e-5


@pytest.fixture
def exported(dnn_plugin, tmp_path):
    """The test fixture's Keras artifact, copied and exported to ONNX here."""
    directory = tmp_path / "exported"
    shutil.copytree(dnn_plugin.artifact, directory)
    card = export_onnx(directory, plugin_name=dnn_plugin.name)
    return dataclasses.replace(dnn_plugin, artifact=directory), card


def test_export_writes_a_checked_model_and_leaves_the_keras_one(exported, dnn_plugin):
    plugin, card = exported
    assert card.sha256 == read_card(dnn_plugin.artifact, dnn_plugin.name).sha256
    assert read_card(plugin.artifact, plugin.name) == card
    features = np.random.default_rng(3).normal(size=(333, 4)).astype(np.float32) * 2 + 3
    keras_model = runtime.get_model(plugin, backend="keras")
    onnx_model = runtime.get_model(plugin, backend="onnx")
    assert (keras_model.backend, onnx_model.backend) == ("keras", "onnx")
    assert onnx_model.parameter_count == keras_model.parameter_count
    np.testing.assert_allclose(
        onnx_model.predict(features), keras_model.predict(features), atol=1e-6
    )


def test_a_corrupt_onnx_file_is_refused_with_the_fix(exported):
    plugin, _ = exported
    path = plugin.artifact / ONNX_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError) as error:
        runtime.get_model(plugin, backend="onnx")
    message = str(error.value)
    assert "\n" not in message and "'substructure_dnn'" in message and str(path) in message
    assert "does not match its card" in message and "export_onnx" in message


def test_retraining_removes_a_stale_onnx_export(exported):
    plugin, card = exported
    keras_model = runtime.get_model(plugin, backend="keras").model
    from hepml_coffea.artifacts import write_artifact

    fields = {f: getattr(card, f) for f in ("name", "inputs", "input_shape", "outputs")}
    written = write_artifact(plugin.artifact, keras_model, **fields)
    assert not (plugin.artifact / ONNX_FILE).exists() and written.formats == ("keras",)


def test_asking_onnx_of_a_keras_only_artifact_names_the_fix(dnn_plugin, fresh_settings):
    runtime.configure(plugin_backends={dnn_plugin.name: "onnx"})
    with pytest.raises(ArtifactError) as error:
        attach(open_events("pfnano"), [dnn_plugin])
    message = str(error.value)
    assert "\n" not in message and "'substructure_dnn'" in message
    assert "configure(plugin_backends=...)" in message and "export_onnx(" in message
    assert f"{runtime.BACKEND_ENV}=onnx,substructure_dnn=keras" in message


def test_backend_precedence(fresh_settings, monkeypatch):
    assert fresh_settings.backend_for("pfn") == (None, "default")
    monkeypatch.setenv(runtime.BACKEND_ENV, "onnx, efn=keras")
    assert fresh_settings.backend_for("pfn")[0] == "onnx"
    assert fresh_settings.backend_for("efn")[0] == "keras"
    runtime.configure(backend="keras")  # code before the environment ...
    assert fresh_settings.backend_for("pfn")[0] == "keras"
    runtime.configure(plugin_backends={"pfn": "onnx"})  # ... and per plugin before global
    assert fresh_settings.backend_for("pfn") == ("onnx", "configure(plugin_backends=...)")
    assert fresh_settings.backend_for("efn")[0] == "keras"  # the environment's per-plugin choice


@pytest.mark.parametrize("value", ["tensorrt", "pfn=", "=onnx", "onnx,pfn=torch"])
def test_a_bad_backend_setting_is_a_clear_error(fresh_settings, monkeypatch, value):
    monkeypatch.setenv(runtime.BACKEND_ENV, value)
    with pytest.raises(ConfigurationError, match="HEPML_COFFEA_BACKEND=onnx or"):
        fresh_settings.backend_for("pfn")
    with pytest.raises(ConfigurationError, match="unknown backend 'torch'"):
        runtime.configure(backend="torch")


def test_threads_reach_the_onnx_runtime_session(exported, fresh_settings, monkeypatch):
    plugin, _ = exported
    runtime.clear_models()
    monkeypatch.setenv(runtime.THREADS_ENV, "3")
    options = runtime.get_model(plugin, backend="onnx").model.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)
    runtime.clear_models()
    runtime.configure(threads=1)
    options = runtime.get_model(plugin, backend="onnx").model.get_session_options()
    assert options.intra_op_num_threads == 1


# --- an ONNX-only third-party plugin ------------------------------------------------------------

WEIGHTS = np.array([[1.5], [-2.0], [0.7], [3.1]], np.float32)
BIAS = np.array([-0.4], np.float32)


def _write_onnx_only_artifact(directory: Path, dnn_plugin) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression written node by node with onnx.helper (as a PyTorch or weaver-core
    export would arrive: no Keras anywhere), with the card a third party writes by hand."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["logit_raw"]),
            helper.make_node("Add", ["logit_raw", "bias"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["score"]),
        ],
        "thirdparty_logistic",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            numpy_helper.from_array(WEIGHTS, "weights"),
            numpy_helper.from_array(BIAS, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    directory.mkdir(parents=True)
    onnx.save(model, directory / ONNX_FILE)
    mean = np.array([6.5, 90.0, 0.5, 0.6], np.float32)
    std = np.array([0.5, 40.0, 0.2, 0.2], np.float32)
    card = {
        "name": "onnx_logistic",
        "inputs": list(dnn_plugin.feature_names),
        "input_shape": [4],
        "outputs": ["top"],
        "preprocessing": {"mean": mean.tolist(), "std": std.tolist()},
        "onnx": {"sha256": sha256_of(directory / ONNX_FILE), "exporter": "onnx.helper"},
        "provenance": {"trained_with": "nothing: weights written by hand in tests/test_onnx.py"},
    }
    (directory / CARD_FILE).write_text(json.dumps(card))
    return mean, std


@pytest.fixture
def onnx_only(dnn_plugin, tmp_path):
    mean, std = _write_onnx_only_artifact(tmp_path / "onnx_logistic", dnn_plugin)
    plugin = dataclasses.replace(
        dnn_plugin, name="onnx_logistic", artifact=tmp_path / "onnx_logistic"
    )
    registry = Registry(autoload=False)
    registry.register(
        SimpleNamespace(hepml_register_taggers=hookimpl(lambda: [plugin])), name="thirdparty"
    )

    def expected(events):
        x = (dnn_plugin.features(events).astype(np.float32) - mean) / std
        return 1.0 / (1.0 + np.exp(-(x @ WEIGHTS + BIAS)))

    return registry, expected


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_an_onnx_only_plugin_is_discovered_and_runs_in_every_mode(onnx_only, fresh_settings, mode):
    registry, expected = onnx_only
    assert not (registry.get("onnx_logistic").artifact / WEIGHTS_FILE).exists()
    decorated = attach(open_events("pfnano", mode=mode), ["onnx_logistic"], registry=registry)
    scores = decorated.FatJet.onnx_logistic_top
    if mode == "dask":
        scores = scores.compute()
    values = ak.to_numpy(ak.flatten(scores))
    reference = expected(open_events("pfnano")).ravel()
    assert len(values) > 20 and np.ptp(reference) > 0.1
    np.testing.assert_allclose(values, reference, rtol=1e-5, atol=1e-6)
    assert runtime.get_model(registry.get("onnx_logistic")).backend == "onnx"


def test_an_onnx_only_plugin_refuses_the_keras_backend(onnx_only, fresh_settings, monkeypatch):
    registry, _ = onnx_only
    monkeypatch.setenv(runtime.BACKEND_ENV, "keras")
    with pytest.raises(
        ArtifactError, match="has no model.keras in its card; this artifact is ONNX"
    ):
        attach(open_events("pfnano"), ["onnx_logistic"], registry=registry)


def test_an_onnx_model_of_the_wrong_shape_is_refused(onnx_only, tmp_path):
    registry, _ = onnx_only
    plugin = registry.get("onnx_logistic")
    card = json.loads((plugin.artifact / CARD_FILE).read_text())
    card["input_shape"] = [5]
    (plugin.artifact / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(
        ArtifactError, match=r"takes inputs of shape \(4,\) but its card says \(5,\)"
    ):
        runtime.get_model(plugin)


def test_a_card_without_a_model_file_is_refused(onnx_only):
    registry, _ = onnx_only
    plugin = registry.get("onnx_logistic")
    card = json.loads((plugin.artifact / CARD_FILE).read_text())
    del card["onnx"]
    (plugin.artifact / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(HepmlCoffeaError, match="lists no model file"):
        runtime.get_model(plugin)


def test_an_onnx_only_plugin_runs_without_tensorflow_and_onnxruntime_loads_lazily(
    onnx_only, tmp_path
):
    """Listing plugins and building features import neither library; an ONNX-only model never
    imports TensorFlow or Keras, and imports ONNX Runtime only when it loads."""
    registry, _ = onnx_only
    artifact = registry.get("onnx_logistic").artifact
    code = f"""
import dataclasses, sys
from pathlib import Path
import awkward as ak
sys.path.insert(0, "tests")
from real_cms import open_events
from hepml_coffea import attach, get_registry
plugin = dataclasses.replace(get_registry().get("substructure_dnn"), name="onnx_logistic",
                             artifact=Path({str(artifact)!r}))
events = open_events("pfnano")
heavy = lambda: sorted({{m.split(".")[0] for m in sys.modules}} & {{"tensorflow", "keras", "onnxruntime"}})
print("BEFORE", heavy())
scores = attach(events, [plugin]).FatJet.onnx_logistic_top
print("AFTER", heavy(), len(ak.flatten(scores)) > 20)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["BEFORE []", "AFTER ['onnxruntime'] True"]
