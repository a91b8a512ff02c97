"""Jet-level substructure features: soft-drop mass and N-subjettiness ratios."""

from __future__ import annotations

import awkward as ak
import numpy as np

SUBSTRUCTURE_FEATURES = ("log_pt", "msoftdrop", "tau21", "tau32")
SUBSTRUCTURE_BRANCHES = (
    "FatJet_pt",
    "FatJet_msoftdrop",
    "FatJet_tau1",
    "FatJet_tau2",
    "FatJet_tau3",
)

TOP_WINDOW_FEATURES = ("msoftdrop", "tau32")
TOP_WINDOW_BRANCHES = ("FatJet_msoftdrop", "FatJet_tau2", "FatJet_tau3")


def _flat(events, collection: str, field: str) -> np.ndarray:
    return ak.to_numpy(ak.flatten(events[collection][field], axis=1)).astype(np.float32)


def nsubjettiness_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """tau_N / tau_(N-1), defined as 1 (no evidence for an extra prong) where tau_(N-1) is 0.

    A jet with tau_(N-1) = 0 has at most N-1 particles, so it cannot look N-pronged; NanoAOD
    stores 0 for such jets, and a NaN here would stop the whole analysis for no physics reason.
    """
    ratio = np.ones_like(numerator, dtype=np.float32)
    np.divide(numerator, denominator, out=ratio, where=denominator > 0)
    return ratio


def fatjet_substructure(events, collection: str = "FatJet") -> np.ndarray:
    """``(n_jets, 4)`` float32: log(pT/GeV), soft-drop mass [GeV], tau21, tau32."""
    pt = _flat(events, collection, "pt")
    tau1, tau2, tau3 = (_flat(events, collection, f"tau{i}") for i in (1, 2, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pt = np.log(pt)  # pt <= 0 gives -inf/NaN, reported by the finiteness check
    return np.stack(
        [
            log_pt,
            _flat(events, collection, "msoftdrop"),
            nsubjettiness_ratio(tau2, tau1),
            nsubjettiness_ratio(tau3, tau2),
        ],
        axis=1,
    )


def top_window_features(events, collection: str = "FatJet") -> np.ndarray:
    """``(n_jets, 2)`` float32: soft-drop mass [GeV] and tau32, the classic top-tag inputs."""
    tau2, tau3 = _flat(events, collection, "tau2"), _flat(events, collection, "tau3")
    return np.stack(
        [_flat(events, collection, "msoftdrop"), nsubjettiness_ratio(tau3, tau2)], axis=1
    )
