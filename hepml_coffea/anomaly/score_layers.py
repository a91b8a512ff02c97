"""Keras layers that turn an autoencoder into a per-jet score inside the saved model, so the
artifact's output is the anomaly score itself (no postprocess, identical in every mode)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

_serializable = keras.saving.register_keras_serializable(package="hepml_coffea_anomaly")


@_serializable
class ReconstructionError(keras.layers.Layer):
    """``log(mean((x - x_hat)^2) + eps)`` over every non-batch axis, shape ``(batch, 1)``.

    The logarithm only spreads the heavy-tailed loss over O(1) values (a monotone map: every
    cut, ROC and rejection is unchanged); ``eps`` keeps a perfectly reconstructed (empty) input finite.
    """

    def __init__(self, eps: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, inputs):
        x, x_hat = inputs
        squared = ops.square(ops.cast(x, "float32") - ops.cast(x_hat, "float32"))
        per_jet = ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1, keepdims=True)
        return ops.log(per_jet + self.eps)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@_serializable
class MassProfileScale(keras.layers.Layer):
    """``(score - centre(m)) / width(m)``: ``centre`` and ``width`` are linear between mass points
    (constant beyond the outer ones, numpy.interp's convention), fitted on background jets by
    :func:`hepml_coffea.anomaly.profile.fit_background_profile`."""

    def __init__(self, masses, centres, widths, **kwargs):
        super().__init__(**kwargs)
        self.masses = [float(m) for m in masses]
        self.centres = [float(c) for c in centres]
        self.widths = [float(w) for w in widths]

    def _interp(self, mass, values):
        # v(m) = v_0 + sum_k slope_k * clip(m - m_k, 0, m_{k+1} - m_k): numpy.interp in closed form
        left = ops.convert_to_tensor(self.masses[:-1], dtype="float32")
        gaps = [b - a for a, b in zip(self.masses[:-1], self.masses[1:], strict=True)]
        slopes = [(vb - va) / g for va, vb, g in zip(values[:-1], values[1:], gaps, strict=True)]
        steps = ops.clip(mass - left, 0.0, ops.convert_to_tensor(gaps, dtype="float32"))
        slopes = ops.convert_to_tensor(slopes, dtype="float32")
        return values[0] + ops.sum(steps * slopes, axis=-1, keepdims=True)

    def call(self, inputs):
        score, mass = inputs
        score, mass = ops.cast(score, "float32"), ops.cast(mass, "float32")
        return (score - self._interp(mass, self.centres)) / self._interp(mass, self.widths)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "masses": self.masses,
            "centres": self.centres,
            "widths": self.widths,
        }


@_serializable
class GaussianMixtureNLL(keras.layers.Layer):
    """``-log p(x)`` under a fixed Gaussian mixture, shape ``(batch, 1)``: ``component_weights`` ``(K,)``,
    ``means`` ``(K, d)`` and ``precision_cholesky`` ``(K, d, d)`` (``L L^T`` = precision), as
    :func:`hepml_coffea.anomaly.density.fit_gaussian_mixture` fits them. The constants are
    stored in the layer's config (a few hundred numbers), not as trainable weights."""

    def __init__(self, component_weights, means, precision_cholesky, **kwargs):
        super().__init__(**kwargs)
        self.mixture_weights = [float(w) for w in component_weights]
        self.means = [[float(v) for v in row] for row in means]
        self.precision_cholesky = [
            [[float(v) for v in row] for row in k] for k in precision_cholesky
        ]
        factors = np.asarray(self.precision_cholesky, np.float64)
        d = factors.shape[1]
        log_det = np.log(np.abs(np.diagonal(factors, axis1=1, axis2=2))).sum(axis=1)
        self._offsets = (
            np.log(np.asarray(self.mixture_weights)) + log_det - 0.5 * d * np.log(2 * np.pi)
        ).astype("float32")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        means = ops.convert_to_tensor(np.asarray(self.means, np.float32))
        factors = ops.convert_to_tensor(np.asarray(self.precision_cholesky, np.float32))
        centred = ops.expand_dims(x, 1) - ops.expand_dims(means, 0)  # (n, K, d)
        y = ops.einsum("nkd,kde->nke", centred, factors)
        joint = ops.convert_to_tensor(self._offsets) - 0.5 * ops.sum(ops.square(y), axis=2)
        return -ops.logsumexp(joint, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {
            **super().get_config(),
            "component_weights": self.mixture_weights,
            "means": self.means,
            "precision_cholesky": self.precision_cholesky,
        }


CUSTOM_OBJECTS: dict[str, type] = {
    "ReconstructionError": ReconstructionError,
    "MassProfileScale": MassProfileScale,
    "GaussianMixtureNLL": GaussianMixtureNLL,
}
