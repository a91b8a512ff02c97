"""jet_density's pieces: the EM fit, the Keras layer that ships it, and the artifact writer."""

import dataclasses

import numpy as np
import pytest

from hepml_coffea import get_registry, runtime
from hepml_coffea.anomaly.density import fit_gaussian_mixture, write_density_artifact
from hepml_coffea.artifacts import read_card
from hepml_coffea.errors import LabelledDataError


def test_em_recovers_a_two_component_mixture():
    rng = np.random.default_rng(0)
    a = rng.multivariate_normal([-2.0, 0.0], [[0.5, 0.2], [0.2, 0.5]], 3000)
    b = rng.multivariate_normal([2.0, 1.0], [[0.3, 0.0], [0.0, 0.8]], 1000)
    gmm = fit_gaussian_mixture(np.r_[a, b], 2, seed=1)
    order = np.argsort(gmm.means[:, 0])
    np.testing.assert_allclose(gmm.weights[order], [0.75, 0.25], atol=0.02)
    np.testing.assert_allclose(gmm.means[order], [[-2.0, 0.0], [2.0, 1.0]], atol=0.08)
    precision = gmm.precision_cholesky[order[0]] @ gmm.precision_cholesky[order[0]].T
    np.testing.assert_allclose(np.linalg.inv(precision), [[0.5, 0.2], [0.2, 0.5]], atol=0.05)


def test_the_keras_layer_is_the_numpy_density():
    from hepml_coffea.anomaly.score_layers import GaussianMixtureNLL

    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 3))
    gmm = fit_gaussian_mixture(x, 3, seed=0)
    layer = GaussianMixtureNLL(gmm.weights, gmm.means, gmm.precision_cholesky)
    restored = GaussianMixtureNLL.from_config(layer.get_config())
    far = np.r_[x[:20], [[30.0, -30.0, 30.0]]].astype(
        np.float32
    )  # far tail: logsumexp stays finite
    expected = -gmm.log_density(far)
    np.testing.assert_allclose(np.asarray(restored(far)).ravel(), expected, rtol=1e-4)


def test_too_few_jets_for_the_components_is_a_clear_error():
    with pytest.raises(LabelledDataError, match="at least 160 background jets"):
        fit_gaussian_mixture(np.zeros((100, 3)), 8)


def test_the_writer_fits_on_background_and_ships_both_backends(generated_ttbar_qcd, tmp_path):
    plugin = get_registry().get("jet_density")
    card = write_density_artifact(
        plugin, [generated_ttbar_qcd[1]], tmp_path / "density", components=(2, 4)
    )
    assert card.provenance["signal_seen"] is False and card.provenance["trained_on"] == [
        "background"
    ]
    assert set(card.provenance["fit"]["validation_nll"]) == {"2", "4"}
    assert card.onnx["max_abs_diff"] < 1e-4
    read_card(tmp_path / "density", plugin.name)
    local = dataclasses.replace(plugin, artifact=tmp_path / "density")
    x = np.array([[80.0, 0.3, 0.7], [175.0, 0.6, 0.5]], np.float32)
    keras_scores = runtime.get_model(local, backend="keras").predict(x)
    onnx_scores = runtime.get_model(local, backend="onnx").predict(x)
    np.testing.assert_allclose(keras_scores, onnx_scores, rtol=1e-5)
