"""The shipped anomaly-score artifacts still separate top and W jets from QCD on freshly
generated events, whose seeds no training step used (ttbar 5 and QCD 6, the shared fixture of
tests/test_shipped_artifacts.py; W' 7).

Each floor is the AUC measured on the held-out samples of docs/anomaly.md (thousands of
jets) minus three standard errors of an AUC on this test's jets (Hanley and McNeil 1982: about
0.03 for ~100 signal and ~200 QCD jets), so a correct artifact fails about once in a thousand
runs, and a score that has lost its separation (a swapped artifact, a feature builder that no
longer matches it) fails. Measured here (signal, QCD jets: AUC, floor): top 106, 200:
jet_autoencoder 0.925 (0.856), jet_autoencoder_md 0.770 (0.662), jet_density 0.930 (0.838);
W 211, 200: jet_autoencoder 0.774 (0.735), jet_autoencoder_md 0.693 (0.658), jet_density 0.800
(0.710).
"""

import awkward as ak
import numpy as np
import pytest

from hepml_coffea import attach
from hepml_coffea.events import open_nanoaod
from hepml_coffea.training.roc_metrics import roc_auc

#: AUC on the held-out samples of docs/anomaly.md (QCD seed 202, ttbar 201, W' 1813)
HELD_OUT_AUC = {
    ("top", "jet_autoencoder"): 0.915,
    ("top", "jet_autoencoder_md"): 0.754,
    ("top", "jet_density"): 0.901,
    ("W", "jet_autoencoder"): 0.800,
    ("W", "jet_autoencoder_md"): 0.732,
    ("W", "jet_density"): 0.778,
}
SCORES = sorted({name for _, name in HELD_OUT_AUC})
LABELS = {"top": 1, "W": 2}


def hanley_mcneil_error(auc: float, n_signal: int, n_background: int) -> float:
    """The standard error of an AUC measured on ``n_signal`` and ``n_background`` jets."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (n_signal - 1) * (q1 - auc**2) + (n_background - 1) * (q2 - auc**2)
    ) / (n_signal * n_background)
    return float(np.sqrt(variance))


def _scores(path, label):
    jets = ak.flatten(attach(open_nanoaod(path, "virtual"), SCORES).FatJet)
    keep = np.ones(len(jets), bool) if label is None else ak.to_numpy(jets.truthLabel) == label
    return {name: ak.to_numpy(jets[f"{name}_score"])[keep] for name in SCORES}


@pytest.fixture(scope="module")
def fresh_scores(generated_ttbar_qcd, tmp_path_factory):
    from hepml_coffea.samples import generate_sample

    wprime = generate_sample(
        "wprime", 300, tmp_path_factory.mktemp("wprime") / "wprime.root", seed=7, progress=False
    )
    ttbar, qcd = generated_ttbar_qcd
    return {
        "top": _scores(ttbar, LABELS["top"]),
        "W": _scores(wprime, LABELS["W"]),
        "qcd": _scores(qcd, None),
    }


@pytest.mark.parametrize("signal, name", sorted(HELD_OUT_AUC))
def test_shipped_anomaly_scores_reach_their_floor_on_fresh_jets(fresh_scores, signal, name):
    s, b = fresh_scores[signal][name], fresh_scores["qcd"][name]
    assert len(s) > 50 and len(b) > 100
    auc = roc_auc(np.r_[s, b], np.r_[np.ones(len(s)), np.zeros(len(b))])
    held_out = HELD_OUT_AUC[(signal, name)]
    floor = held_out - 3 * hanley_mcneil_error(held_out, len(s), len(b))
    assert auc >= floor, (
        f"{name} {signal}-vs-QCD AUC {auc:.3f} below {floor:.3f} ({len(s)}, {len(b)} jets)"
    )


def test_the_margin_is_the_statistics_of_this_sample():
    # 100 signal and 200 QCD jets at AUC 0.9: about 0.02; at 0.5, about 0.035
    assert 0.015 < hanley_mcneil_error(0.9, 100, 200) < 0.03
    assert 0.03 < hanley_mcneil_error(0.5, 100, 200) < 0.04
