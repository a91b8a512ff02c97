"""The Keras layers: masks respected, permutation symmetry kept, the mass-dependent shift exact."""

import numpy as np
import pytest

from hepml_coffea.errors import PluginDefinitionError
from hepml_coffea.layers import Channels, EdgeConv, MaskedPool, MassDependentShift
from hepml_coffea.training.mass_profile import MassProfile


@pytest.fixture
def cloud():
    rng = np.random.default_rng(4)
    points = rng.normal(size=(3, 10, 2)).astype("float32")
    features = rng.normal(size=(3, 10, 5)).astype("float32")
    mask = np.ones((3, 10, 1), "float32")
    mask[0, 6:] = 0  # jet 0 has 6 constituents, jet 1 has 9
    mask[1, 9:] = 0
    return points, features, mask


def test_masked_pool_ignores_padding(cloud):
    _, features, mask = cloud
    garbage = features + 100.0 * (1 - mask)  # padding full of nonsense
    total = np.asarray(MaskedPool("sum")([garbage, mask]))
    mean = np.asarray(MaskedPool("mean")([garbage, mask]))
    assert np.allclose(total[0], features[0, :6].sum(axis=0), atol=1e-5)
    assert np.allclose(mean[1], features[1, :9].mean(axis=0), atol=1e-5)
    with pytest.raises(PluginDefinitionError, match="sum' or 'mean"):
        MaskedPool("max")


def test_edgeconv_is_permutation_equivariant_and_blind_to_padding(cloud):
    points, features, mask = cloud
    layer = EdgeConv(k=3, channels=(8, 8))
    out = np.asarray(layer([points, features, mask]))
    assert out.shape == (3, 10, 8)
    assert np.all(out[mask[..., 0] == 0] == 0), "padded points must come out zero"
    # shuffling the real constituents shuffles the output the same way
    order = np.r_[np.random.default_rng(0).permutation(6), np.arange(6, 10)]
    shuffled = np.asarray(layer([points[:, order], features[:, order], mask[:, order]]))
    assert np.allclose(shuffled[0], out[0, order], atol=1e-5)
    # padded points' features never reach a real point
    noisy = features.copy()
    noisy[0, 6:] = 1e3
    assert np.allclose(np.asarray(layer([points, noisy, mask]))[0, :6], out[0, :6], atol=1e-5)


def test_channels_selects_a_slice_and_round_trips_its_config():
    x = np.arange(24, dtype="float32").reshape(1, 4, 6)
    layer = Channels(2, 5)
    assert np.array_equal(np.asarray(layer(x)), x[..., 2:5])
    assert Channels.from_config(layer.get_config()).stop == 5
    edge = EdgeConv.from_config(EdgeConv(7, (32, 64)).get_config())
    assert edge.k == 7 and edge.channels == (32, 64)


def test_mass_dependent_shift_is_the_numpy_profile():
    centres, thresholds = (15.0, 45.0, 120.0, 175.0, 260.0), (-2.0, -1.0, 0.5, 2.5, 1.0)
    profile = MassProfile(
        centres=centres,
        thresholds=thresholds,
        signal_efficiency=0.5,
        strength=1.0,
        background_efficiency=0.01,
        background_efficiencies=(0.01,) * 5,
    )
    rng = np.random.default_rng(2)
    # masses inside, between and beyond the centres; scores including exactly 0 and 1
    mass = np.r_[-10.0, 0.0, centres, 300.0, 1e4, rng.uniform(0, 320, 200)].astype("float32")
    score = np.r_[0.0, 1.0, rng.uniform(0, 1, len(mass) - 2)].astype("float32")
    layer = MassDependentShift(centres, thresholds)
    shifted = np.asarray(layer([score[:, None], mass[:, None]]))[:, 0]
    np.testing.assert_allclose(shifted, profile.shifted_scores(score, mass), rtol=1e-5, atol=1e-6)
    assert MassDependentShift.from_config(layer.get_config()).thresholds == list(thresholds)
    with pytest.raises(PluginDefinitionError, match="centres must increase strictly"):
        MassDependentShift((10.0, 10.0), (0.0, 1.0))
    with pytest.raises(PluginDefinitionError, match="as many thresholds as centres"):
        MassDependentShift((10.0, 20.0), (0.0,))
