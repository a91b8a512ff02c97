"""Physics checks of the shipped taggers on fresh Pythia8 samples (slow: `python -m pytest -m slow`).

The samples use seeds no training, validation, calibration or test step used (201 and 202; the
shipped artifacts used 21, 22, 31, 32 and 101-107, docs/taggers.md) and are cached outside the
repository (hepml_coffea.samples.cache), so only the first run generates them. The events go
through the TaggingProcessor and its histograms, as `hepml-coffea run` does, with fine score
bins so that the AUCs read from them are exact to about 1e-4.
"""

import math

import numpy as np
import pytest
from hepml_processors import TaggingProcessor
from shipped import NETWORKS

from hepml_coffea.artifacts import read_card
from hepml_coffea.decorrelation import inv_jsd50, inv_jsd_ceiling, r50, select_classes
from hepml_coffea.executors import run_processor
from hepml_coffea.filesets import normalise_fileset
from hepml_coffea.registry import get_registry
from hepml_coffea.samples.cache import cached_sample

pytestmark = pytest.mark.slow

MASS_DECORRELATED = ["pfn_md", "pfn_ddt"]
#: standard errors a fresh AUC may fall below the one its card records (both samples' errors)
AUC_TOLERANCE_SIGMAS = 4.0
#: how many times the plain pfn's 1/JSD50 a mass-decorrelated tagger must reach. The cards record
#: 10x (pfn_md) and 15x (pfn_ddt) on 157k held-out QCD jets; on the ~5k QCD jets here the
#: finite-statistics ceiling (decorrelation.inv_jsd_ceiling: 14-20 at their cuts) caps what can
#: be measured near 6x, and 3x leaves room for the fluctuations of ~150 passing jets.
SCULPTING_RATIO = 3.0


@pytest.fixture(scope="module")
def fresh_hists():
    """(signal, background) (mass, score) histograms of every network on fresh top and QCD jets."""
    fileset = normalise_fileset(
        {
            "ttbar": [str(cached_sample("ttbar", 6000, seed=201, jobs=2))],
            "qcd": [str(cached_sample("qcd", 10000, seed=202, jobs=2))],
        }
    )
    processor = TaggingProcessor(NETWORKS, truth_label="truthLabel", score_bins=1000)
    hists = run_processor(processor, fileset, executor="iterative", progress=False)["hists"]
    return {
        name: select_classes(hists[f"{name}_top"], signal_dataset="ttbar", background_dataset="qcd")
        for name in NETWORKS
    }


def binned_auc(signal, background) -> float:
    """AUC of the score distributions of two histograms (ties within a bin count one half)."""
    s, b = (h.project("score").values(flow=True) for h in (signal, background))
    below = np.cumsum(b) - b
    return float(np.sum(s * (below + 0.5 * b)) / (s.sum() * b.sum()))


def auc_standard_error(auc: float, n_signal: float, n_background: float) -> float:
    """Hanley and McNeil (1982): the standard error of an AUC measured on these many jets."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = auc * (1 - auc) + (n_signal - 1) * (q1 - auc**2) + (n_background - 1) * (q2 - auc**2)
    return math.sqrt(variance / (n_signal * n_background))


@pytest.mark.parametrize("name", NETWORKS)
def test_network_reaches_the_auc_its_card_records_on_fresh_jets(fresh_hists, name):
    signal, background = fresh_hists[name]
    n_signal, n_background = signal.sum(flow=True).value, background.sum(flow=True).value
    assert n_signal > 1000 and n_background > 3000
    card = read_card(get_registry().get(name).artifact, name).metrics
    auc = binned_auc(signal, background)
    error = math.hypot(
        auc_standard_error(card["auc"], card["n_signal"], card["n_background"]),
        auc_standard_error(auc, n_signal, n_background),
    )
    print(
        f"{name}: AUC {auc:.4f} on {n_signal:.0f} top and {n_background:.0f} QCD jets; "
        f"card {card['auc']:.4f} +- {error:.4f}"
    )
    assert auc > card["auc"] - AUC_TOLERANCE_SIGMAS * error


@pytest.mark.parametrize("name", MASS_DECORRELATED)
def test_mass_decorrelated_tagger_sculpts_the_qcd_mass_less_than_the_plain_pfn(fresh_hists, name):
    plain, decorrelated = inv_jsd50(*fresh_hists["pfn"]), inv_jsd50(*fresh_hists[name])
    print(
        f"{name}: 1/JSD50 {decorrelated:.1f} (R50 {r50(*fresh_hists[name]):.1f}); "
        f"pfn: 1/JSD50 {plain:.2f} (R50 {r50(*fresh_hists['pfn']):.1f})"
    )
    assert decorrelated > SCULPTING_RATIO * plain


def test_plain_pfn_sculpts_the_qcd_mass_beyond_what_statistics_can_fake(fresh_hists):
    """Without this the comparison above could pass on noise: the plain pfn's passing QCD jets
    pile up at the top mass, far more than a mass-blind cut of the same efficiency shows."""
    signal, background = fresh_hists["pfn"]
    ceiling = inv_jsd_ceiling(background, 1 / r50(signal, background))
    print(f"pfn: 1/JSD50 {inv_jsd50(signal, background):.2f}; a mass-blind cut shows {ceiling:.1f}")
    assert inv_jsd50(signal, background) < ceiling / 2
