"""Models with several named inputs (weaver's ParticleNet takes pf_points, pf_features, ...): a
feature builder returns ``{input name: array}``; Keras and ONNX models of two inputs run as
plugins, identically in eager, virtual and dask mode; mismatches are one line naming the input."""

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea import ArtifactError, InvalidInputError, Output, Plugin, attach, runtime
from hepml_coffea.artifacts import CARD_FILE, ONNX_FILE, sha256_of, write_artifact

#: the two inputs: jet kinematics (pT in TeV, soft-drop mass in 100 GeV) and the N-subjettiness ratios
SHAPES = {"kinematics": [2], "nsubjettiness": [2]}
W_KINEMATICS = np.array([[0.8], [1.2]], np.float32)
W_NSUBJETTINESS = np.array([[-2.0], [-1.5]], np.float32)
BIAS = np.float32(1.0)


def two_inputs(events) -> dict[str, np.ndarray]:
    jets = events.FatJet

    def flat(values):
        return ak.to_numpy(ak.flatten(values)).astype(np.float32)

    tau1, tau2, tau3 = (flat(jets[f"tau{i}"]) for i in (1, 2, 3))
    kinematics = np.stack([flat(jets["pt"]) / 1000, flat(jets["msoftdrop"]) / 100], axis=1)
    ratios = np.stack(
        [
            np.divide(tau2, tau1, out=np.zeros_like(tau2), where=tau1 > 0),
            np.divide(tau3, tau2, out=np.zeros_like(tau3), where=tau2 > 0),
        ],
        axis=1,
    )
    return {"kinematics": kinematics, "nsubjettiness": ratios}


def expected_scores(events) -> np.ndarray:
    x = two_inputs(events)
    logit = x["kinematics"] @ W_KINEMATICS + x["nsubjettiness"] @ W_NSUBJETTINESS + BIAS
    return (1 / (1 + np.exp(-logit))).reshape(-1)


def plugin(artifact: Path, name: str, features=two_inputs) -> Plugin:
    return Plugin(
        name=name,
        kind="tagger",
        collection="FatJet",
        required_branches=tuple(f"FatJet_{f}" for f in ("pt", "msoftdrop", "tau1", "tau2", "tau3")),
        outputs=(Output("top"),),
        features=features,
        artifact=artifact,
    )


def card_fields() -> dict:
    return {
        "name": "two_inputs",
        "inputs": list(SHAPES),
        "input_shape": [],
        "outputs": ["top"],
        "named_inputs": SHAPES,
        "provenance": {
            "trained_with": "nothing: weights set by hand in tests/test_named_inputs.py"
        },
    }


@pytest.fixture(scope="module")
def keras_artifact(tmp_path_factory) -> Path:
    import keras

    inputs = {name: keras.Input(shape=tuple(shape), name=name) for name, shape in SHAPES.items()}
    kinematics = keras.layers.Dense(1, use_bias=True, name="k")(inputs["kinematics"])
    nsubjettiness = keras.layers.Dense(1, use_bias=False, name="n")(inputs["nsubjettiness"])
    score = keras.layers.Activation("sigmoid", name="top")(
        keras.layers.Add()([kinematics, nsubjettiness])
    )
    model = keras.Model(inputs, score)
    model.get_layer("k").set_weights([W_KINEMATICS, np.array([BIAS])])
    model.get_layer("n").set_weights([W_NSUBJETTINESS])
    directory = tmp_path_factory.mktemp("named") / "keras_two_inputs"
    write_artifact(directory, model, **card_fields())
    return directory


@pytest.fixture(scope="module")
def onnx_artifact(tmp_path_factory) -> Path:
    """The same network written node by node (as a weaver-core export arrives): ONNX only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["kinematics", "w_k"], ["k"]),
            helper.make_node("MatMul", ["nsubjettiness", "w_n"], ["n"]),
            helper.make_node("Add", ["k", "n"], ["kn"]),
            helper.make_node("Add", ["kn", "bias"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["top"]),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])
            for name, shape in SHAPES.items()
        ],
        [helper.make_tensor_value_info("top", TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            numpy_helper.from_array(W_KINEMATICS, "w_k"),
            numpy_helper.from_array(W_NSUBJETTINESS, "w_n"),
            numpy_helper.from_array(np.array([BIAS], np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    directory = tmp_path_factory.mktemp("named") / "onnx_two_inputs"
    directory.mkdir()
    onnx.save(model, directory / ONNX_FILE)
    card = {**card_fields(), "onnx": {"sha256": sha256_of(directory / ONNX_FILE)}}
    (directory / CARD_FILE).write_text(json.dumps(card))
    return directory


def scores(events, tagger: Plugin, mode: str) -> np.ndarray:
    column = attach(events, [tagger]).FatJet[f"{tagger.name}_top"]
    if mode == "dask":
        column = column.compute()
    return ak.to_numpy(ak.flatten(column))


@pytest.mark.parametrize("backend", ["keras", "onnx"])
def test_a_two_input_model_runs_in_every_mode(backend, keras_artifact, onnx_artifact):
    artifact = keras_artifact if backend == "keras" else onnx_artifact
    tagger = plugin(artifact, f"two_inputs_{backend}")
    reference = expected_scores(open_events("pfnano"))
    for mode in ("eager", "virtual", "dask"):
        np.testing.assert_allclose(
            scores(open_events("pfnano", mode), tagger, mode),
            reference,
            rtol=1e-5,
            atol=1e-6,
            err_msg=mode,
        )
    assert runtime.get_model(tagger).backend == backend


def test_a_missing_input_is_one_line_naming_it(keras_artifact):
    def only_kinematics(events):
        return {"kinematics": two_inputs(events)["kinematics"]}

    tagger = plugin(keras_artifact, "one_missing", only_kinematics)
    with pytest.raises(
        InvalidInputError, match=r"'one_missing'.*input\(s\) \['nsubjettiness'\] missing"
    ):
        attach(open_events("pfnano"), [tagger])


def test_an_input_of_the_wrong_shape_is_one_line_naming_it(keras_artifact):
    def wide(events):
        x = two_inputs(events)
        return {**x, "nsubjettiness": np.concatenate([x["nsubjettiness"]] * 2, axis=1)}

    tagger = plugin(keras_artifact, "too_wide", wide)
    with pytest.raises(
        InvalidInputError, match=r"input 'nsubjettiness' has shape \(4,\).*expects \(2,\)"
    ):
        attach(open_events("pfnano"), [tagger])


def test_a_card_that_misnames_an_input_is_refused(onnx_artifact, tmp_path):
    import shutil

    directory = tmp_path / "misnamed"
    shutil.copytree(onnx_artifact, directory)
    card = json.loads((directory / CARD_FILE).read_text())
    card["named_inputs"] = {"kinematics": [2], "shape": [2]}
    (directory / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(
        ArtifactError, match=r"takes inputs \['kinematics', 'nsubjettiness'\] but its card names"
    ):
        runtime.get_model(plugin(directory, "misnamed"))
