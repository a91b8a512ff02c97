"""Keras layers for networks on padded particle clouds (channel selection, masked pooling, EdgeConv)
and for mass-dependent working points (a logit shift that depends on the jet mass).

Every layer is a plain ``keras.layers.Layer`` written with ``keras.ops`` (so it runs on the
TensorFlow and JAX backends) with a ``get_config``, registered with Keras under the package
``hepml_coffea``; no Lambda layers, so artifacts load with ``safe_mode=True``. The runtime always
passes :data:`CUSTOM_OBJECTS` when it loads a model, so models using these layers need no plugin
hook. Third-party plugins may build on them too; import this module (it imports Keras) inside the
functions that build or load models, as the built-ins do.

Masks are ``(batch, points, 1)`` tensors of 1 (real constituent) and 0 (padding).
"""

from __future__ import annotations

import itertools

import keras
from keras import ops

from hepml_coffea.errors import PluginDefinitionError

_serializable = keras.saving.register_keras_serializable(package="hepml_coffea")


@_serializable
class Channels(keras.layers.Layer):
    """Select channels ``[start, stop)`` of the last axis (e.g. the coordinates of a cloud)."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, inputs):
        return inputs[..., self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@_serializable
class MaskedPool(keras.layers.Layer):
    """Pool over the points axis, ignoring padding: ``mode="sum"`` (Deep Sets, PFN) or ``"mean"``.

    Called as ``MaskedPool()([values, weights])``: ``weights`` is the mask, or for an energy flow
    network the pT fractions (zero on padding), giving the infrared-collinear-safe sum of EFN.
    """

    def __init__(self, mode: str = "sum", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("sum", "mean"):
            raise PluginDefinitionError(f"MaskedPool mode must be 'sum' or 'mean', not {mode!r}")
        self.mode = mode

    def call(self, inputs):
        values, weights = inputs
        total = ops.sum(values * weights, axis=1)
        if self.mode == "mean":
            total = total / ops.maximum(ops.sum(weights, axis=1), 1.0)
        return total

    def compute_output_shape(self, input_shape):
        values_shape, _ = input_shape
        return (values_shape[0], values_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@_serializable
class EdgeConv(keras.layers.Layer):
    """The EdgeConv block of ParticleNet (Qu & Gouskos, arXiv:1902.08570).

    For every point, find its ``k`` nearest neighbours in ``coordinates`` (padding excluded),
    form edge features ``(x_i, x_j - x_i)``, pass them through ``len(channels)`` shared dense
    layers (batch norm + ReLU), average over the neighbours, add a linear shortcut of ``x_i``
    and apply ReLU; padded points are zeroed. Called as ``EdgeConv(k, channels)([coordinates,
    features, mask])``.
    """

    def __init__(self, k: int, channels: tuple[int, ...], **kwargs):
        super().__init__(**kwargs)
        self.k = int(k)
        self.channels = tuple(int(c) for c in channels)
        self.edge_layers = [keras.layers.Dense(c, use_bias=False) for c in self.channels]
        self.edge_norms = [keras.layers.BatchNormalization() for _ in self.channels]
        self.shortcut = keras.layers.Dense(self.channels[-1], use_bias=False)
        self.shortcut_norm = keras.layers.BatchNormalization()

    def build(self, input_shape):
        _, features_shape, _ = input_shape
        n_features = features_shape[-1]
        width = 2 * n_features
        for dense, norm in zip(self.edge_layers, self.edge_norms, strict=False):
            dense.build((None, None, None, width))
            width = dense.units
            norm.build((None, None, None, width))
        self.shortcut.build((None, None, n_features))
        self.shortcut_norm.build((None, None, self.channels[-1]))

    def _neighbours(self, coordinates, mask):
        # padded points are moved far away so they are never a real point's neighbour
        shifted = coordinates + (1.0 - mask) * 1e9
        squared = ops.sum(shifted * shifted, axis=-1, keepdims=True)
        distance = (
            squared
            - 2.0 * ops.matmul(shifted, ops.transpose(shifted, (0, 2, 1)))
            + ops.transpose(squared, (0, 2, 1))
        )
        _, index = ops.top_k(-distance, k=self.k + 1)
        return index[:, :, 1:]  # drop the point itself

    def call(self, inputs, training=None):
        coordinates, features, mask = inputs
        index = self._neighbours(coordinates, mask)  # (batch, points, k)
        shape = ops.shape(features)
        batch, points = shape[0], shape[1]
        offsets = ops.reshape(ops.arange(batch) * points, (-1, 1, 1))
        flat = ops.reshape(features, (-1, features.shape[-1]))
        neighbours = ops.take(
            flat, ops.reshape(index + ops.cast(offsets, index.dtype), (-1,)), axis=0
        )
        neighbours = ops.reshape(neighbours, (batch, points, self.k, features.shape[-1]))
        centre = ops.repeat(ops.expand_dims(features, 2), self.k, axis=2)
        x = ops.concatenate([centre, neighbours - centre], axis=-1)
        for dense, norm in zip(self.edge_layers, self.edge_norms, strict=False):
            x = ops.relu(norm(dense(x), training=training))
        x = ops.mean(x, axis=2)
        shortcut = self.shortcut_norm(self.shortcut(features), training=training)
        return ops.relu(x + shortcut) * mask

    def compute_output_shape(self, input_shape):
        _, features_shape, _ = input_shape
        return (*features_shape[:-1], self.channels[-1])

    def get_config(self):
        return {**super().get_config(), "k": self.k, "channels": list(self.channels)}


@_serializable
class MassDependentShift(keras.layers.Layer):
    """``sigmoid(logit(score) - threshold(mass))`` with ``threshold`` linear between mass points.

    Called as ``MassDependentShift(centres, thresholds)([score, mass])`` with ``(batch, 1)``
    tensors; the threshold is constant beyond the outer centres (``numpy.interp``'s convention)
    and scores are clipped to [1e-7, 1 - 1e-7] first. Cutting the result at 0.5 cuts the score
    at a different logit in every mass bin: the profile fitted by
    :func:`hepml_coffea.training.mass_profile.fit_mass_profile`.
    """

    def __init__(self, centres, thresholds, **kwargs):
        super().__init__(**kwargs)
        self.centres = [float(c) for c in centres]
        self.thresholds = [float(t) for t in thresholds]
        if len(self.centres) != len(self.thresholds) or len(self.centres) < 2:
            raise PluginDefinitionError(
                "MassDependentShift needs as many thresholds as centres, and at least two"
            )
        if any(b <= a for a, b in itertools.pairwise(self.centres)):
            raise PluginDefinitionError(
                f"MassDependentShift centres must increase strictly, got {self.centres}"
            )

    def _threshold(self, mass):
        # t(m) = t_0 + sum_k slope_k * clip(m - c_k, 0, c_{k+1} - c_k): numpy.interp in closed form
        centres = ops.convert_to_tensor(self.centres[:-1], dtype=mass.dtype)
        widths = ops.convert_to_tensor(
            [b - a for a, b in itertools.pairwise(self.centres)], dtype=mass.dtype
        )
        slopes = ops.convert_to_tensor(
            [
                (tb - ta) / (cb - ca)
                for (ca, cb), (ta, tb) in zip(
                    itertools.pairwise(self.centres),
                    itertools.pairwise(self.thresholds),
                    strict=True,
                )
            ],
            dtype=mass.dtype,
        )
        steps = ops.clip(mass - centres, 0.0, widths)  # (batch, bins - 1) by broadcasting
        return self.thresholds[0] + ops.sum(steps * slopes, axis=-1, keepdims=True)

    def call(self, inputs):
        score, mass = inputs
        score = ops.clip(ops.cast(score, "float32"), 1e-7, 1.0 - 1e-7)
        mass = ops.cast(mass, "float32")
        return ops.sigmoid(ops.log(score) - ops.log1p(-score) - self._threshold(mass))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "centres": self.centres, "thresholds": self.thresholds}


CUSTOM_OBJECTS: dict[str, type] = {
    cls.__name__: cls for cls in (Channels, MaskedPool, EdgeConv, MassDependentShift)
}
"""The layers above by name, as ``keras.saving.load_model(custom_objects=...)`` wants them."""
