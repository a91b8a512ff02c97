"""DisCo and adversarial training reduce the mass dependence of a tagger that would sculpt.

A synthetic problem where the mass separates signal from background (so a plain network
leans on it) and a second, mass-independent feature separates them too (so a decorrelated
network still tags).
"""

import dataclasses

import numpy as np
import pytest

from hepml_coffea import ConfigurationError, get_registry
from hepml_coffea.decorrelation import distance_correlation_arrays
from hepml_coffea.training import LabelledFeatures, train_plugin
from hepml_coffea.training.decorrelate import (
    MAX_FLATTENING_WEIGHT,
    Decorrelation,
    background_weights,
    mass_bin_index,
)


@pytest.fixture(scope="module")
def sculpting_problem():
    rng = np.random.default_rng(7)
    n = 2000
    mass = np.r_[rng.normal(172, 15, n), rng.uniform(20, 300, n)]
    tau32 = np.r_[rng.normal(0.45, 0.12, n), rng.normal(0.7, 0.12, n)]
    features = np.stack(
        [rng.normal(6.3, 0.1, 2 * n), mass, rng.normal(0.5, 0.1, 2 * n), tau32], axis=1
    )
    labels = np.r_[np.ones(n), np.zeros(n)].astype(np.int8)
    data = LabelledFeatures(features.astype(np.float32), labels, mass.astype(np.float32), files=[])
    plugin = dataclasses.replace(get_registry().get("substructure_dnn"), artifact=None)
    return plugin, data


def _train(problem, directory, decorrelation, batch_size=1000):
    """Train; return the card and dCor² between mass and score over the background jets."""
    import keras

    plugin, data = problem
    result = train_plugin(
        plugin,
        data,
        directory,
        epochs=10,
        batch_size=batch_size,
        learning_rate=3e-3,
        verbose=0,
        decorrelation=decorrelation,
    )
    model = keras.saving.load_model(directory / "model.keras", compile=False)
    mean, std = (np.asarray(result.card.preprocessing[k], np.float32) for k in ("mean", "std"))
    background = data.labels == 0
    scores = model.predict((data.features[background] - mean) / std, verbose=0).reshape(-1)
    return result.card, distance_correlation_arrays(data.mass[background], scores)


def test_disco_and_adversary_reduce_mass_correlation(sculpting_problem, tmp_path):
    plain_card, plain_dcor = _train(sculpting_problem, tmp_path / "plain", None)
    disco_card, disco_dcor = _train(
        sculpting_problem, tmp_path / "disco", Decorrelation("disco", 5.0), batch_size=400
    )
    adversary_card, adversary_dcor = _train(
        sculpting_problem, tmp_path / "adversary", Decorrelation("adversary", 10.0), batch_size=128
    )
    # measured (seed 7): dCor² 0.092 plain, 0.002 DisCo, 0.047 adversary; AUC 0.956, 0.817, 0.948
    assert plain_dcor > 0.05, "the plain network should use the mass"
    assert disco_dcor < 0.5 * plain_dcor
    assert adversary_dcor < 0.7 * plain_dcor
    # tau32 alone still tags: decorrelated networks keep a useful AUC
    assert disco_card.metrics["auc"] > 0.8 and adversary_card.metrics["auc"] > 0.75
    recorded = disco_card.provenance["fit"]["decorrelation"]
    assert recorded["method"] == "disco" and recorded["strength"] == 5.0


def test_decorrelation_options_are_validated():
    with pytest.raises(ConfigurationError, match="must be one of"):
        Decorrelation("mine", 1.0)
    with pytest.raises(ConfigurationError, match=">= 0"):
        Decorrelation("disco", -1.0)


def test_flattening_weights_make_the_background_mass_flat():
    rng = np.random.default_rng(3)
    population = np.array([5000, 3000, 2000, 1000, 500, 200, 100, 20, 5, 1])  # per 20 GeV bin
    mass = np.concatenate([rng.uniform(20 * k, 20 * k + 20, n) for k, n in enumerate(population)])
    labels = np.r_[np.zeros(len(mass)), np.ones(300)]
    mass = np.r_[mass, rng.normal(172, 15, 300)]
    option = Decorrelation("disco", 1.0, mass_bins=10, mass_range=(0.0, 200.0), flatten_mass=True)
    weights = background_weights(labels, mass, option)
    background = weights[labels == 0]
    assert np.all(weights[labels == 1] == 0)
    assert background.mean() == pytest.approx(1.0)
    weighted = np.bincount(mass_bin_index(mass[labels == 0], option), weights=background)
    # bins 0-5 end up equally populated; bins 6-9 are so sparse that their weight hits the cap
    np.testing.assert_allclose(weighted[:6], weighted[0], rtol=1e-6)
    assert np.ptp(background[population[:6].sum() :]) == 0
    assert weighted[6] < weighted[0]
    # before the cap, bin k weighs N / (10 * population_k) relative to the mean
    uncapped_first_bin = population.sum() / (10 * population[0])
    assert background.max() / background[0] == pytest.approx(
        MAX_FLATTENING_WEIGHT / uncapped_first_bin
    )


def test_flattening_weights_come_from_the_reference_rows_only():
    rng = np.random.default_rng(4)
    mass = np.r_[rng.exponential(60.0, 3000), rng.normal(172, 15, 1000)]
    labels = np.r_[np.zeros(3000), np.ones(1000)]
    train = rng.permutation(len(mass))[:2400]
    option = Decorrelation("disco", 1.0, flatten_mass=True)
    weights = background_weights(labels, mass, option, reference=train)
    np.testing.assert_allclose(
        weights[train], background_weights(labels[train], mass[train], option), rtol=1e-6
    )
    assert np.all(weights[labels == 1] == 0) and np.all(weights[labels == 0] > 0)
    assert not np.allclose(weights, background_weights(labels, mass, option))


def test_without_flattening_background_weighs_one():
    labels = np.array([0, 1, 0, 0])
    weights = background_weights(
        labels, np.array([10.0, 170.0, 400.0, -5.0]), Decorrelation("disco", 1.0)
    )
    np.testing.assert_array_equal(weights, [1, 0, 1, 1])
    np.testing.assert_array_equal(
        mass_bin_index(np.array([-5.0, 0.0, 14.9, 15.0, 400.0]), Decorrelation("adversary", 1.0)),
        [0, 0, 0, 1, 19],
    )
