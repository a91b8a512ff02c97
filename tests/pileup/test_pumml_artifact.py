"""The shipped PUMML artifact: its card, and a floor on a freshly generated MU 60 sample whose
seed (and so pileup pool) neither training nor the docs/pileup.md evaluation used."""

from __future__ import annotations

import json
import zipfile

import awkward as ak
import numpy as np
import pytest

import hepml_coffea
from hepml_coffea import get_registry
from hepml_coffea.artifacts import read_card
from hepml_coffea.pileup.performance import EVALUATION_SEED, TRAINING_SEEDS
from hepml_coffea.samples import generate_sample

CI_SEED = 9031
CI_EVENTS = 150
#: the floor: pumml's jet-mass resolution (half the 16-84 % width of the residual against the
#: pileup-free jet) at most this fraction of CHS's, and at most MASS_RESOLUTION_MAX GeV. On the
#: docs/pileup.md evaluation sample (MU 60) CHS has 16.1 GeV and PUPPI 5.6 GeV.
MASS_RESOLUTION_VS_CHS = 0.5
MASS_RESOLUTION_MAX = 7.0


def resolution(x: np.ndarray) -> float:
    q16, q84 = np.percentile(x, [16, 84])
    return 0.5 * (q84 - q16)


@pytest.fixture(scope="module")
def fresh_mu60(pu_dir):
    assert CI_SEED != EVALUATION_SEED and CI_SEED not in TRAINING_SEEDS
    path = pu_dir / "qcd_pu60_ci.root"
    return generate_sample("qcd", CI_EVENTS, path, pileup=60.0, seed=CI_SEED, progress=False)


def test_card_records_provenance_and_no_optimizer():
    plugin = get_registry().get("pumml")
    card = read_card(plugin.artifact, "pumml")  # checks model.keras's and model.onnx's sha256
    assert card.onnx and card.onnx["max_abs_diff"] < 1e-4
    provenance = card.provenance
    assert "train --plugin pumml" in provenance["command"]
    seeds = [s["seed"] for s in provenance["samples"]]
    assert seeds and EVALUATION_SEED not in seeds and set(seeds) <= set(TRAINING_SEEDS)
    assert {s["mu"] for s in provenance["samples"]} >= {20.0, 60.0, 140.0}
    assert provenance["timings_s"]["fit_s"] > 0
    assert "mu60" in card.metrics["per_mu"] and "mu140" in card.metrics["per_mu"]
    with zipfile.ZipFile(plugin.artifact / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert not config.get("compile_config")  # saved uncompiled: no optimizer state
    assert (plugin.artifact / "model.keras").stat().st_size < 500_000


def test_shipped_pumml_beats_chs_on_a_fresh_mu60_sample(fresh_mu60, read_pileup):
    events = read_pileup(fresh_mu60)
    out = hepml_coffea.attach(events, ["chs", "pumml"])
    hard = ak.to_numpy(ak.flatten(events.FatJet.hardMass))
    assert len(hard) > 100
    res = {
        m: resolution(ak.to_numpy(ak.flatten(out.FatJet[f"{m}_mass"])) - hard)
        for m in ("chs", "pumml")
    }
    assert res["pumml"] < MASS_RESOLUTION_VS_CHS * res["chs"], res
    assert res["pumml"] < MASS_RESOLUTION_MAX, res
    weights = ak.to_numpy(ak.flatten(out.PFCands.pumml_weight))
    assert ((weights >= 0) & (weights <= 1)).all()
