"""Anomaly scores: cards must record background-only training; the mass profile flattens QCD."""

import dataclasses

import numpy as np
import pytest

from hepml_coffea import get_registry
from hepml_coffea.anomaly import check_background_only
from hepml_coffea.anomaly.profile import fit_background_profile
from hepml_coffea.artifacts import read_card
from hepml_coffea.errors import ArtifactError, LabelledDataError, PluginDefinitionError
from hepml_coffea.training.dataset import LabelledFeatures
from hepml_coffea.training.fit import train_plugin


@pytest.mark.parametrize("name", ["jet_autoencoder", "jet_autoencoder_md", "jet_density"])
def test_shipped_cards_say_no_signal_was_seen(name):
    plugin = get_registry().get(name)
    card = read_card(plugin.artifact, name)
    check_background_only(name, card)
    assert card.provenance["trained_on"] == ["background"]


def test_a_card_trained_on_signal_is_refused_in_one_line():
    plugin = get_registry().get("jet_autoencoder")
    card = dataclasses.replace(
        read_card(plugin.artifact, plugin.name),
        provenance={"signal_seen": True, "trained_on": ["signal", "background"]},
    )
    with pytest.raises(ArtifactError, match="jet_autoencoder.*--background") as info:
        check_background_only(plugin.name, card)
    assert "\n" not in str(info.value)


def test_an_anomaly_score_is_not_trained_on_signal(tmp_path):
    plugin = get_registry().get("jet_autoencoder")
    data = LabelledFeatures(
        features=np.zeros((4, 3072), np.float32),
        labels=np.array([1, 0, 1, 0], np.int8),
        mass=np.ones(4),
        files=[],
    )
    with pytest.raises(LabelledDataError, match="background jets only"):
        train_plugin(plugin, data, tmp_path / "a")


def test_an_anomaly_score_whose_network_is_not_an_autoencoder_is_refused(tmp_path):
    """The anomaly kind's objective is an autoencoder: a network whose output does not
    reconstruct its input is refused in one line before any fit (it was trained as one)."""
    import keras

    def classifier(input_shape):
        inputs = keras.Input(shape=input_shape)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))

    plugin = dataclasses.replace(get_registry().get("jet_density"), build_model=classifier)
    data = LabelledFeatures(
        features=np.zeros((40, 3), np.float32),
        labels=np.zeros(40, np.int8),
        mass=np.ones(40),
        files=[],
    )
    with pytest.raises(
        PluginDefinitionError, match=r"'jet_density'.*shape \(1,\).*autoencoder"
    ) as info:
        train_plugin(plugin, data, tmp_path / "a")
    assert "\n" not in str(info.value) and not (tmp_path / "a").exists()


def test_the_profile_flattens_a_mass_dependent_score():
    rng = np.random.default_rng(0)
    mass = rng.uniform(10, 250, 20000)
    scores = 0.01 * mass + rng.normal(size=len(mass))
    profiled = fit_background_profile(scores, mass).apply(scores, mass)
    cut = np.quantile(profiled, 0.9)
    low, high = profiled[mass < 80] > cut, profiled[mass > 180] > cut
    assert abs(low.mean() - high.mean()) < 0.03
    assert abs((scores[mass < 80] > np.quantile(scores, 0.9)).mean() - 0.1) > 0.05


@pytest.mark.parametrize("name", ["jet_autoencoder", "jet_autoencoder_md", "jet_density"])
def test_shipped_models_carry_no_optimizer_state(name):
    import keras

    from hepml_coffea import runtime

    model = runtime.get_model(get_registry().get(name)).model

    def compiled(layer):
        nested = [x for x in getattr(layer, "layers", []) if isinstance(x, keras.Model)]
        return getattr(layer, "optimizer", None) is not None or any(map(compiled, nested))

    assert not compiled(model)


def test_profile_and_training_share_one_mass_binning():
    from hepml_coffea.training.mass_profile import mass_bins

    edges = [0.0, 50.0, 100.0, 150.0]
    mass = np.array([-5.0, 0.0, 49.9, 50.0, 149.9, 150.0, 400.0])
    assert mass_bins(mass, edges).tolist() == [0, 0, 0, 1, 2, 2, 2]
    # the QCD profile's equal-population bins hold equal shares of the jets
    rng = np.random.default_rng(1)
    mass = rng.exponential(60.0, 6000)
    profile = fit_background_profile(rng.normal(size=len(mass)), mass, n_bins=6)
    edges = np.quantile(mass, np.linspace(0, 1, 7))
    assert np.bincount(mass_bins(mass, edges)).tolist() == [1000] * 6
    assert len(profile.masses) == 6


def test_scaled_images_put_every_channel_on_a_per_jet_scale():
    from hepml_coffea.anomaly.scaled_images import MULTIPLICITY_WEIGHT, scaled_images

    images = np.zeros((2, 4, 4, 3), np.float32)
    images[0, 1, 1] = [0.36, 0.64, 30.0]  # one pixel: pT fractions and 30 charged particles
    images[0, 2, 2, 2] = 10.0
    images[1, 0, 0] = [1.0, 0.0, 0.0]  # only neutral particles: no charged share
    scaled = scaled_images(images)
    np.testing.assert_allclose(scaled[0, 1, 1], [0.6, 0.8, 0.75 * MULTIPLICITY_WEIGHT], rtol=1e-6)
    np.testing.assert_allclose(scaled[..., 2].sum(axis=(1, 2)), [MULTIPLICITY_WEIGHT, 0.0])
    images[0, 3, 3, 0] = np.nan
    assert np.isnan(scaled_images(images)[0, 3, 3, 0])  # left for the finiteness check
