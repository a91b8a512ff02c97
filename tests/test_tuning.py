"""Measured inference defaults: the card's backend and batch size (hepml_coffea.tuning)."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from hepml_coffea import ArtifactError, runtime
from hepml_coffea.artifacts import CARD_FILE, read_card
from hepml_coffea.export import export_onnx
from hepml_coffea.tuning import (
    ACTIVATION_BUDGET_BYTES,
    BATCH_CANDIDATES,
    activation_floats_per_row,
    affordable_batches,
    choose_defaults,
    tune_artifact,
)


def _measurement(keras_s, onnx_s, batches, on="keras", default=4096):
    return {
        "default_batch_size": default,
        "backends": {"keras": {"median_s": keras_s}, "onnx": {"median_s": onnx_s}},
        "batch_sizes": {"backend": on, **{str(b): {"median_s": t} for b, t in batches.items()}},
    }


@pytest.mark.parametrize(
    "measurement, expected",
    [
        # ONNX twice as fast, and a larger batch 30 % faster again: both go into the card
        (_measurement(2.0, 1.0, {4096: 1.0, 65536: 0.7}, on="onnx"), ("onnx", 65536)),
        # ONNX only 5 % faster: not worth leaving the default; its batches are not Keras's
        (_measurement(1.0, 0.95, {4096: 0.95, 65536: 0.5}, on="onnx"), (None, None)),
        # Keras wins and the larger batch gains less than MIN_GAIN: nothing changes
        (_measurement(1.0, 1.5, {4096: 1.0, 16384: 0.95}), (None, None)),
        # Keras wins, the larger batch clearly helps
        (_measurement(1.0, 1.5, {4096: 1.0, 16384: 0.6}), (None, 16384)),
    ],
)
def test_a_default_changes_only_for_a_clear_gain(measurement, expected):
    assert choose_defaults(measurement) == expected


def test_activations_count_every_layer_output_per_row():
    import keras

    inputs = keras.Input(shape=(5, 3))
    hidden = keras.layers.Dense(8)(inputs)  # 5 x 8
    inner = keras.Sequential([keras.Input(shape=(40,)), keras.layers.Dense(2)])  # nested: 2
    outputs = inner(keras.layers.Flatten()(hidden))  # 40
    model = keras.Model(inputs, outputs)
    assert activation_floats_per_row(model) == 5 * 3 + 5 * 8 + 40 + 2


def test_larger_batches_are_tried_only_within_the_memory_budget():
    assert affordable_batches(4, 4096) == [4096, *BATCH_CANDIDATES]
    heavy = ACTIVATION_BUDGET_BYTES // (4 * BATCH_CANDIDATES[0])  # floats per row at the limit
    assert affordable_batches(heavy, 4096) == [4096, BATCH_CANDIDATES[0]]
    assert affordable_batches(heavy + 1, 4096) == [4096]


@pytest.fixture
def exported(dnn_plugin, tmp_path):
    directory = tmp_path / "substructure_dnn"
    shutil.copytree(dnn_plugin.artifact, directory)
    export_onnx(directory, plugin_name=dnn_plugin.name)
    runtime.clear_models()
    yield dataclasses.replace(dnn_plugin, artifact=directory)
    runtime.clear_models()


def test_tuning_writes_a_card_the_runtime_follows(exported):
    card = tune_artifact(exported, rows=3000, repeats=2, command="pytest")
    measured = card.metrics["inference"]
    assert measured["rows"] == 3000 and set(measured["backends"]) == {"keras", "onnx"}
    assert measured["chosen"] == {"backend": card.backend or "keras", "batch_size": card.batch_size}
    assert (card.backend, card.batch_size) == choose_defaults(measured)
    assert read_card(exported.artifact, exported.name) == card  # the written card reads back
    runtime.clear_models()
    assert runtime.get_model(exported).backend == (card.backend or "keras")
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    np.testing.assert_allclose(
        runtime.get_model(exported).predict(x),
        runtime.get_model(exported, backend="keras").predict(x),
        atol=1e-5,
    )


def test_a_card_asking_for_a_backend_it_lacks_is_refused(dnn_plugin, tmp_path):
    directory = tmp_path / "substructure_dnn"
    shutil.copytree(dnn_plugin.artifact, directory)
    card = json.loads((directory / CARD_FILE).read_text())
    (directory / CARD_FILE).write_text(json.dumps({**card, "backend": "onnx"}))
    with pytest.raises(ArtifactError, match="asks for backend 'onnx' but lists only keras"):
        read_card(directory, "substructure_dnn")


def test_tuning_needs_both_backends(dnn_plugin):
    with pytest.raises(ArtifactError, match="export it first"):
        tune_artifact(dnn_plugin, rows=100, repeats=1)


def test_interleaved_rounds_rotate_which_variant_runs_first():
    from hepml_coffea.tuning import interleaved_times

    order = []
    variants = {name: (lambda name=name: order.append(name)) for name in "abc"}
    times = interleaved_times(variants, repeats=3)
    assert order == list("abc") + list("abc") + list("bca") + list("cab")  # warm-up, 3 rounds
    assert all(len(t) == 3 and min(t) >= 0 for t in times.values())
