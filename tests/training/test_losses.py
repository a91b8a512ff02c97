import keras
import numpy as np
import pytest

from hepml_coffea.decorrelation import distance_correlation_arrays
from hepml_coffea.training.losses import distance_correlation_loss


def batch(seed=0, n=256):
    rng = np.random.default_rng(seed)
    mass = rng.exponential(70.0, n)
    score = 1 / (1 + np.exp(-(mass - 100.0) / 30.0 + rng.normal(0.0, 1.0, n)))  # partly sculpted
    weights = rng.uniform(0.1, 3.0, n)
    return mass, score, weights


def loss(*arrays) -> float:
    return float(keras.ops.convert_to_numpy(distance_correlation_loss(*arrays)))


def test_loss_equals_the_numpy_distance_correlation():
    mass, score, weights = batch()
    expected = distance_correlation_arrays(mass, score, weights)
    assert 0.05 < expected < 0.95
    assert loss(mass, score, weights) == pytest.approx(
        expected, rel=1e-10
    )  # float64 in, float64 out
    as_float32 = [array.astype("float32") for array in (mass, score, weights)]
    assert loss(*as_float32) == pytest.approx(expected, rel=1e-5)
    # a model's output shape (n, 1) and unit weights by default
    assert loss(mass[:, None], score[:, None], weights[:, None]) == pytest.approx(
        expected, rel=1e-10
    )
    assert loss(mass, score) == pytest.approx(distance_correlation_arrays(mass, score), rel=1e-10)


def test_loss_limits_and_weight_scale():
    mass, score, weights = batch(seed=1)
    assert loss(mass, 0.01 * mass + 0.3, weights) == pytest.approx(1.0)
    assert loss(mass, -2.0 * mass, weights) == pytest.approx(1.0)
    assert loss(mass, score, 1e3 * weights) == pytest.approx(loss(mass, score, weights), rel=1e-10)
    # zero weights remove jets from the batch (e.g. signal jets in a background-only penalty)
    mask = np.arange(len(mass)) % 2 == 0
    assert loss(mass, score, weights * mask) == pytest.approx(
        loss(mass[mask], score[mask], weights[mask]), rel=1e-10
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="gradient check uses tf.GradientTape"
)
def test_loss_gradient_is_finite_and_reduces_the_correlation():
    import tensorflow as tf

    mass, score, weights = (tf.constant(array, dtype="float32") for array in batch(seed=2))
    constant = tf.Variable(tf.fill(mass.shape, 0.5))  # an untrained network: dVar²(score) = 0
    with tf.GradientTape() as tape:
        value = distance_correlation_loss(mass, constant, weights)
    assert float(value) == 0.0
    assert np.all(np.isfinite(tape.gradient(value, constant).numpy()))

    variable = tf.Variable(score)
    before = float(distance_correlation_loss(mass, variable, weights))
    with tf.GradientTape() as tape:
        value = distance_correlation_loss(mass, variable, weights)
    gradient = tape.gradient(value, variable).numpy()
    assert np.all(np.isfinite(gradient)) and np.any(gradient != 0)
    variable.assign_sub(0.01 * gradient / np.abs(gradient).max())
    assert float(distance_correlation_loss(mass, variable, weights)) < before
