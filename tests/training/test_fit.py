"""Training a plugin end to end on freshly generated Pythia8 samples."""

import dataclasses

import numpy as np
import pytest

from hepml_coffea import ArtifactError, export, get_registry, runtime
from hepml_coffea.artifacts import ONNX_FILE, read_card, sha256_of
from hepml_coffea.training import load_labelled_features, train_plugin


def test_train_writes_a_loadable_artifact_with_provenance(generated_ttbar_qcd, tmp_path):
    samples = generated_ttbar_qcd
    plugin = get_registry().get("substructure_dnn")
    data = load_labelled_features(plugin, [samples[0]], [samples[1]])
    assert data.labels.sum() > 30 and (data.labels == 0).sum() > 30
    # signal jets are truth-matched tops: their soft-drop mass sits near the top mass
    assert 140 < np.median(data.mass[data.labels == 1]) < 200

    result = train_plugin(plugin, data, tmp_path / "artifact", epochs=30, patience=30, verbose=0)
    card = read_card(tmp_path / "artifact", plugin.name)
    assert card.inputs == list(plugin.feature_names)
    assert {s["file"] for s in card.provenance["samples"]} == {"ttbar.root", "qcd.root"}
    assert card.metrics["auc"] > 0.8  # msoftdrop and tau32 separate tops from QCD even here

    trained = dataclasses.replace(plugin, artifact=tmp_path / "artifact")
    x = data.features[:50]
    scores = runtime.get_model(trained).predict(x).ravel()
    standardised = (x - np.array(card.preprocessing["mean"])) / np.array(card.preprocessing["std"])
    np.testing.assert_allclose(
        scores,
        np.asarray(result.model(standardised.astype(np.float32))).ravel(),
        rtol=1e-5,
        atol=1e-6,
    )
    # training exports the model to ONNX beside model.keras, checked and recorded in the card
    assert card.onnx["sha256"] == sha256_of(tmp_path / "artifact" / ONNX_FILE)
    assert card.onnx["max_abs_diff"] <= 1e-5
    onnx_scores = runtime.get_model(trained, backend="onnx").predict(x).ravel()
    np.testing.assert_allclose(onnx_scores, scores, atol=1e-5)


def test_a_failed_onnx_export_warns_and_leaves_a_keras_artifact(
    generated_ttbar_qcd, tmp_path, monkeypatch
):
    def refuse(artifact, **kwargs):
        raise ArtifactError("plugin 'substructure_dnn': the ONNX export differs from Keras")

    monkeypatch.setattr(export, "export_onnx", refuse)
    plugin = get_registry().get("substructure_dnn")
    data = load_labelled_features(plugin, [generated_ttbar_qcd[0]], [generated_ttbar_qcd[1]])
    with pytest.warns(
        export.OnnxExportWarning, match="differs from Keras; the artifact stays Keras"
    ):
        train_plugin(plugin, data, tmp_path / "artifact", epochs=2, patience=2, verbose=0)
    card = read_card(tmp_path / "artifact", plugin.name)
    assert card.formats == ("keras",) and not (tmp_path / "artifact" / ONNX_FILE).exists()


def test_signal_files_need_truth_labels():
    from hepml_coffea.data import cms_file
    from hepml_coffea.errors import MissingBranchError

    plugin = get_registry().get("substructure_dnn")
    with pytest.raises(MissingBranchError, match="truthLabel"):
        load_labelled_features(plugin, [cms_file("pfnano")], [cms_file("drell_yan")])


def test_training_can_start_from_a_trained_artifact(generated_ttbar_qcd, dnn_plugin, tmp_path):
    """With a zero learning rate, fine-tuning must leave the initial network exactly as it was."""
    data = load_labelled_features(dnn_plugin, [generated_ttbar_qcd[0]], [generated_ttbar_qcd[1]])
    result = train_plugin(
        dnn_plugin,
        data,
        tmp_path / "tuned",
        epochs=1,
        learning_rate=0.0,
        initial_artifact=dnn_plugin.artifact,
        verbose=0,
    )
    initial = read_card(dnn_plugin.artifact, dnn_plugin.name)
    assert result.card.preprocessing == initial.preprocessing, (
        "the weights only fit the initial standardisation"
    )
    assert result.card.provenance["fit"]["initialised_from"]["sha256"] == initial.sha256
    tuned = dataclasses.replace(dnn_plugin, artifact=tmp_path / "tuned")
    np.testing.assert_allclose(
        runtime.get_model(tuned).predict(data.features),
        runtime.get_model(dnn_plugin).predict(data.features),
        rtol=1e-6,
        atol=1e-7,
    )


def test_starting_from_another_architecture_is_refused(generated_ttbar_qcd, dnn_plugin, tmp_path):
    from hepml_coffea.errors import ArtifactError

    pfn = get_registry().get("pfn")
    data = load_labelled_features(pfn, [generated_ttbar_qcd[0]], [generated_ttbar_qcd[1]])
    with pytest.raises(ArtifactError, match="trained on features"):
        train_plugin(
            pfn, data, tmp_path / "tuned", epochs=1, initial_artifact=dnn_plugin.artifact, verbose=0
        )


def test_the_learning_rate_schedule_sees_progress_on_a_small_loss():
    """A loss of order 1e-4 that keeps falling is progress, not a plateau (Keras's default
    absolute min_delta of 1e-4 halved the rate every epoch of the anomaly autoencoder)."""
    import keras

    from hepml_coffea.training.callbacks import training_callbacks

    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    schedule = next(
        c
        for c in training_callbacks(patience=3)
        if isinstance(c, keras.callbacks.ReduceLROnPlateau)
    )
    schedule.set_model(model)
    schedule.on_train_begin()
    for epoch, loss in enumerate([4e-4, 3.5e-4, 3.1e-4, 2.8e-4, 2.6e-4]):
        schedule.on_epoch_end(epoch, {"val_loss": loss})
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    for epoch in range(5, 7):  # and a plateau halves it each time patience (here 1) runs out
        schedule.on_epoch_end(epoch, {"val_loss": 2.6e-4})
    assert float(model.optimizer.learning_rate) == pytest.approx(2.5e-4)
