"""Binary-classifier figures of merit used across the top-tagging literature (1902.09914)."""

from __future__ import annotations

import numpy as np

from hepml_coffea.errors import LabelledDataError


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_signal, n_background = int(labels.sum()), int((~labels).sum())
    if n_signal == 0 or n_background == 0:
        raise LabelledDataError(
            "AUC needs both signal and background entries; check the labels of the jets scored"
        )
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # mid-ranks: every member of a group of ties gets the group's mean rank
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mid, counts)
    return float(
        (ranks[labels].sum() - n_signal * (n_signal + 1) / 2.0) / (n_signal * n_background)
    )


def background_rejection(scores: np.ndarray, labels: np.ndarray, signal_efficiency: float) -> float:
    """1/eps_B at the score cut that keeps ``signal_efficiency`` of the signal (inf if eps_B = 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    cut = np.quantile(scores[labels], 1.0 - signal_efficiency)
    eps_b = float(np.mean(scores[~labels] >= cut))
    return float("inf") if eps_b == 0 else 1.0 / eps_b


def classifier_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """AUC, accuracy at 0.5, and 1/eps_B at eps_S = 0.3 and 0.5."""
    labels = np.asarray(labels).astype(bool)
    return {
        "auc": roc_auc(scores, labels),
        "accuracy": float(np.mean((np.asarray(scores) >= 0.5) == labels)),
        "inv_eps_b_at_eps_s_0.3": background_rejection(scores, labels, 0.3),
        "inv_eps_b_at_eps_s_0.5": background_rejection(scores, labels, 0.5),
        "n_signal": int(labels.sum()),
        "n_background": int((~labels).sum()),
    }
