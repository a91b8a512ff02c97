import numpy as np
import pytest

from hepml_coffea.errors import LabelledDataError
from hepml_coffea.training.roc_metrics import background_rejection, classifier_metrics, roc_auc


def test_auc_closed_forms():
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert roc_auc(np.full(4, 0.5), labels) == 0.5  # ties count one half


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=400), 1)  # many ties
    labels = rng.integers(0, 2, size=400)
    signal, background = scores[labels == 1], scores[labels == 0]
    pairwise = (
        (signal[:, None] > background[None, :]) + 0.5 * (signal[:, None] == background[None, :])
    ).mean()
    assert roc_auc(scores, labels) == pytest.approx(pairwise, abs=1e-12)


def test_background_rejection_of_uniform_scores():
    rng = np.random.default_rng(4)
    background = rng.uniform(size=200_000)
    signal = np.sqrt(rng.uniform(size=200_000))  # density 2s: eps_S(c) = 1 - c^2
    scores = np.concatenate([signal, background])
    labels = np.concatenate([np.ones(200_000), np.zeros(200_000)])
    # eps_S = 0.3 -> c = sqrt(0.7), eps_B = 1 - sqrt(0.7)
    assert background_rejection(scores, labels, 0.3) == pytest.approx(
        1 / (1 - np.sqrt(0.7)), rel=0.02
    )
    assert classifier_metrics(scores, labels)["auc"] == pytest.approx(2 / 3, abs=0.005)


def test_auc_of_one_class_names_the_labels():
    with pytest.raises(LabelledDataError, match="check the labels of the jets scored"):
        roc_auc(np.array([0.1, 0.9]), np.array([1, 1]))
