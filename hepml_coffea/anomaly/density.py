"""A density estimate of background jets: a Gaussian mixture on jet-shape features.

The anomaly score is the negative log-likelihood ``-log p_QCD(x)`` of a jet's features under a
Gaussian mixture fitted to QCD jets by expectation-maximisation: a jet is anomalous because it
is *rare* among QCD jets, not because it is complex (the reason a plain autoencoder fails the
inverse test, Finke et al. 2104.09051; density estimates as the fix, Dillon et al. 2206.14225).
The features are few and physical: the soft-drop mass and the N-subjettiness ratios tau21 and
tau32 (chosen on validation jets against larger sets with tau43, the constituent multiplicity
and a log mass: docs/anomaly.md), standardised with the QCD training jets' mean and spread. The fitted mixture ships
as a Keras layer (:class:`hepml_coffea.anomaly.score_layers.GaussianMixtureNLL`) behind the card's
standardisation, so the artifact's output is the score itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepml_coffea.artifacts import ModelCard
from hepml_coffea.errors import InvalidInputError, LabelledDataError
from hepml_coffea.features.substructure import nsubjettiness_ratio
from hepml_coffea.plugin import Plugin

JET_SHAPE_FEATURES = ("msoftdrop", "tau21", "tau32")
JET_SHAPE_BRANCHES = ("FatJet_msoftdrop", "FatJet_tau1", "FatJet_tau2", "FatJet_tau3")
#: added to every covariance diagonal (standardised units): keeps a component from collapsing
#: onto a few jets (e.g. the tau = 0 jets' ratio of exactly 1)
COVARIANCE_FLOOR = 1e-3
#: the mixture sizes tried; the one with the lowest QCD validation NLL is kept
DEFAULT_COMPONENTS = (4, 8, 16, 24)


def jet_shape_features(
    events, plugin: str = "jet_density", collection: str = "FatJet"
) -> np.ndarray:
    """``(n_jets, 3)`` float32: soft-drop mass [GeV], tau21, tau32 (:data:`JET_SHAPE_FEATURES`).

    A jet with ``tau1 == 0`` has no constituents or a single one, so no shape: it is refused
    with an error naming ``plugin`` (as ``jet_autoencoder`` refuses an empty image). tau32 of a
    jet with ``tau2 == 0`` (two constituents) is 1, as :func:`nsubjettiness_ratio` defines it.
    NaN or infinite inputs pass through to the runtime's finiteness check, which names them.
    """

    def flat(field: str) -> np.ndarray:
        return ak.to_numpy(ak.flatten(events[collection][field], axis=1)).astype(np.float32)

    tau1, tau2, tau3 = (flat(f"tau{i}") for i in (1, 2, 3))
    shapeless = tau1 == 0
    if shapeless.any():
        raise InvalidInputError(
            f"plugin {plugin!r}: {int(shapeless.sum())} of {len(tau1)} {collection} objects have "
            f"{collection}_tau1 == 0 (no constituents or a single one, so no jet shape); select "
            f"jets with constituents (e.g. events.{collection}[events.{collection}.tau1 > 0]) "
            "before attaching"
        )

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        # a NaN or infinite tau stays NaN (nsubjettiness_ratio would give 1 for a NaN denominator)
        finite = np.isfinite(numerator) & np.isfinite(denominator)
        return np.where(finite, nsubjettiness_ratio(numerator, denominator), np.nan)

    return np.stack([flat("msoftdrop"), ratio(tau2, tau1), ratio(tau3, tau2)], axis=1).astype(
        np.float32
    )


@dataclass(frozen=True)
class GaussianMixture:
    """Weights ``(K,)``, means ``(K, d)`` and triangular factors of the precisions ``(K, d, d)``:
    ``precision_k = L_k L_k^T``."""

    weights: np.ndarray
    means: np.ndarray
    precision_cholesky: np.ndarray

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """``log p(x)`` per row, in float64 (what the Keras layer computes in float32)."""
        return _log_component_densities(np.asarray(x, np.float64), self)[1]

    def record(self) -> dict[str, list]:
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "precision_cholesky": self.precision_cholesky.tolist(),
        }


def _log_component_densities(x: np.ndarray, gmm: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    d = x.shape[1]
    # (n, K, d): L_k^T (x - mu_k)
    y = np.einsum("nkd,kde->nke", x[:, None, :] - gmm.means[None], gmm.precision_cholesky)
    log_det = np.log(np.abs(np.diagonal(gmm.precision_cholesky, axis1=1, axis2=2))).sum(axis=1)
    joint = (
        np.log(gmm.weights)[None]
        + log_det[None]
        - 0.5 * d * np.log(2 * np.pi)
        - 0.5 * np.square(y).sum(axis=2)
    )
    top = joint.max(axis=1, keepdims=True)
    total = top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))
    return joint, total


def fit_gaussian_mixture(
    x: np.ndarray,
    n_components: int,
    *,
    seed: int = 0,
    max_iterations: int = 300,
    tolerance: float = 1e-6,
) -> GaussianMixture:
    """Full-covariance Gaussian mixture fitted to the rows of ``x`` (standardised features) by EM,
    started from ``n_components`` distinct random rows with the data's covariance."""
    x = np.asarray(x, np.float64)
    n, d = x.shape
    if n < 20 * n_components:
        raise LabelledDataError(
            f"a {n_components}-component density needs at least {20 * n_components} background "
            f"jets, got {n}; use a larger QCD sample or fewer components"
        )
    rng = np.random.default_rng(seed)
    means = x[rng.choice(n, n_components, replace=False)]
    covariances = np.repeat(np.cov(x.T)[None] + COVARIANCE_FLOOR * np.eye(d), n_components, 0)
    weights = np.full(n_components, 1.0 / n_components)
    previous = -np.inf
    for _ in range(max_iterations):
        gmm = GaussianMixture(weights, means, _precision_cholesky(covariances))
        joint, total = _log_component_densities(x, gmm)
        mean_log_likelihood = float(total.mean())
        responsibilities = np.exp(joint - total[:, None])  # E step
        counts = responsibilities.sum(axis=0) + 1e-10  # M step
        weights = counts / n
        means = (responsibilities.T @ x) / counts[:, None]
        centred = x[:, None, :] - means[None]
        covariances = np.einsum("nk,nkd,nke->kde", responsibilities, centred, centred)
        covariances = covariances / counts[:, None, None] + COVARIANCE_FLOOR * np.eye(d)
        if mean_log_likelihood - previous < tolerance:
            break
        previous = mean_log_likelihood
    return GaussianMixture(weights, means, _precision_cholesky(covariances))


def _precision_cholesky(covariances: np.ndarray) -> np.ndarray:
    """Triangular ``L`` with ``L L^T = C^-1``: from the Cholesky factor of the covariance, as
    scikit-learn does (``C = U U^T``, ``L = U^-T``)."""
    factors = np.linalg.cholesky(covariances)
    d = covariances.shape[1]
    return np.stack([np.linalg.solve(f, np.eye(d)).T for f in factors])


def write_density_artifact(
    plugin: Plugin,
    background_files: Sequence[Path],
    output: Path,
    *,
    label: int | None = None,
    components: Sequence[int] = DEFAULT_COMPONENTS,
    seed: int = 0,
    max_jets: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> ModelCard:
    """Fit ``plugin``'s density on the jets of ``background_files`` (those with truth label
    ``label``; QCD by default) and write its artifact to ``output``.

    The jets are split 60/20/20 (train/validation/test, ``seed``); features are standardised
    with the training split's mean and standard deviation (the card's preprocessing); one
    mixture per entry of ``components`` is fitted on the training split and the one with the
    lowest validation negative log-likelihood is kept, so the choice sees no signal. The card
    records every candidate's validation NLL and the test split's.
    """
    import keras

    from hepml_coffea.anomaly.score_layers import GaussianMixtureNLL
    from hepml_coffea.artifacts import write_artifact
    from hepml_coffea.export import export_trained_artifact
    from hepml_coffea.training.dataset import load_background_features
    from hepml_coffea.training.fit import provenance_record

    data = load_background_features(plugin, background_files, label=label, max_jets=max_jets)
    x = data.features.astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_train, n_val = int(0.6 * len(x)), int(0.2 * len(x))
    split = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    train, val, test = split
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
    z = (x - mean) / std
    candidates = {}
    for k in components:
        mixture = fit_gaussian_mixture(z[train], int(k), seed=seed)
        candidates[int(k)] = (mixture, float(-mixture.log_density(z[val]).mean()))
    best = min(candidates, key=lambda k: candidates[k][1])
    mixture = candidates[best][0]
    inputs = keras.Input(shape=(x.shape[1],), name="jet_shape")
    score = GaussianMixtureNLL(
        mixture.weights, mixture.means, mixture.precision_cholesky, name="negative_log_density"
    )(inputs)
    model = keras.Model(inputs, score, name=plugin.name)
    test_scores = -mixture.log_density(z[test])
    fit = {
        "method": "Gaussian mixture, full covariances, expectation-maximisation",
        "components": best,
        "validation_nll": {str(k): nll for k, (_, nll) in candidates.items()},
        "covariance_floor": COVARIANCE_FLOOR,
        "mixture": mixture.record(),
    }
    write_artifact(
        output,
        model,
        name=plugin.name,
        inputs=list(plugin.feature_names),
        input_shape=[x.shape[1]],
        outputs=[o.name for o in plugin.outputs],
        preprocessing={"mean": mean.tolist(), "std": std.tolist()},
        provenance=provenance_record(data, split, seed, fit, provenance),
        metrics={
            "score": "negative log-likelihood under the QCD density (standardised features)",
            "test_nll": float(test_scores.mean()),
            "median_score": float(np.median(test_scores)),
            "score_q99": float(np.quantile(test_scores, 0.99)),
            "n_background": int(len(test)),
            "evaluated_on": "held-out test split of the training samples",
        },
    )
    return export_trained_artifact(output, plugin_name=plugin.name)
