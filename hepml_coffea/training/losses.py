"""Training losses written with ``keras.ops`` only, so they run on every Keras 3 backend.

DisCo (Kasieczka & Shih, arXiv:2001.05310) decorrelates a classifier from the jet mass by
adding lambda * dCor²(mass, score) over the background jets of each batch to the classification
loss; :func:`distance_correlation_loss` is that dCor² term.
"""

from __future__ import annotations

import keras
from keras import ops


def _double_centred(distance, probability):
    """A_ij = a_ij - a_i. - a_.j + a_.. with the averages weighted by ``probability``."""
    row = ops.matmul(distance, probability)
    grand = ops.sum(row * probability)
    return distance - ops.expand_dims(row, 0) - ops.expand_dims(row, 1) + grand


def _pair_average(matrix, probability):
    """sum_ij p_i p_j M_ij."""
    return ops.sum(ops.matmul(matrix, probability) * probability)


def distance_correlation_loss(mass, score, weights=None):
    """Weighted squared distance correlation dCor²(mass, score) of one batch, a scalar tensor.

    The same quantity as :func:`hepml_coffea.decorrelation.distance_correlation_arrays`
    (eq. 2-3 of 2001.05310): with p = weights / sum(weights), the pairwise distances
    |x_i - x_j| of each variable are double-centred with p-weighted averages into A and B, and
    dCor² = sum p_i p_j A_ij B_ij / sqrt(sum p_i p_j A_ij² * sum p_i p_j B_ij²). The DisCo
    reference normalises the weights to mean 1 over the batch; dCor² does not depend on the
    weights' scale, so both give the same number. Pass the background jets of the batch (or
    zero weights for the signal ones). Inputs of shape (n,) or (n, 1); the computation runs in
    ``score``'s dtype and is O(n²) in memory.
    """
    score = ops.reshape(score, (-1,))
    dtype = keras.backend.standardize_dtype(score.dtype)
    mass = ops.cast(ops.reshape(mass, (-1,)), dtype)
    weights = (
        ops.ones_like(score) if weights is None else ops.cast(ops.reshape(weights, (-1,)), dtype)
    )
    probability = weights / ops.sum(weights)
    a = _double_centred(ops.abs(ops.expand_dims(mass, 1) - ops.expand_dims(mass, 0)), probability)
    b = _double_centred(ops.abs(ops.expand_dims(score, 1) - ops.expand_dims(score, 0)), probability)
    dcov2 = _pair_average(a * b, probability)
    dvar2 = _pair_average(a * a, probability) * _pair_average(b * b, probability)
    # a constant score (an untrained network) has dVar² = 0: the floor keeps the gradient finite
    return dcov2 / ops.sqrt(ops.maximum(dvar2, keras.config.epsilon() ** 2))


__all__ = ["distance_correlation_loss"]
