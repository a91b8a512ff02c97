"""`hepml-coffea train` for pileup regressions: what it refuses, in one line each, and the seeds
it trains on."""

from __future__ import annotations

import pytest

from hepml_coffea import cli
from hepml_coffea.pileup.performance import EVALUATION_SEED, TRAINING_SEEDS
from hepml_coffea.pileup.training import DEFAULT_MIXTURE


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--plugin", "chs"], "builds no network to train"),
        (["--plugin", "pumml", "--background", "b.root"], "has no signal or background"),
        (
            ["--plugin", "pumml", "--samples", f"qcd_n100_seed{EVALUATION_SEED}_pu60_x.root"],
            "is an evaluation sample",
        ),
        (["--plugin", "pumml", "--mixture", "20:many"], "give MU:EVENTS pairs"),
        (["--plugin", "pumml", "--samples", "no_such_sample.root"], "no_such_sample.root"),
        (["--plugin", "pfn"], "pass --background NanoAOD files"),
    ],
)
def test_refusals_are_one_line(capsys, argv, message):
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_default_mixture_fits_the_training_seeds():
    assert len(DEFAULT_MIXTURE) <= len(TRAINING_SEEDS)
    assert EVALUATION_SEED not in TRAINING_SEEDS
    mus = {mu for mu, _ in DEFAULT_MIXTURE}
    assert {20.0, 60.0, 140.0} <= mus


def test_training_writes_an_artifact_the_plugin_runs(tmp_path, qcd_pu30, qcd_pu0, read_pileup):
    import dataclasses
    import json
    import zipfile

    import awkward as ak
    import numpy as np

    import hepml_coffea
    from hepml_coffea import get_registry
    from hepml_coffea.pileup.training import train_pumml

    result = train_pumml(tmp_path / "pumml", samples=[qcd_pu30, qcd_pu0], epochs=1, verbose=0)
    card = result.card
    assert card.name == "pumml" and card.input_shape == [40, 40, 3] and len(card.outputs) == 1600
    assert [s["file"] for s in card.provenance["samples"]] == ["qcd_pu30.root", "qcd_pu0.root"]
    assert card.provenance["samples"][0]["generation_s"] is None  # given, not generated
    assert set(card.metrics["per_mu"]) == {"sample0", "sample1"}
    assert card.onnx and (tmp_path / "pumml" / "model.onnx").is_file()  # exported, checked
    with zipfile.ZipFile(tmp_path / "pumml" / "model.keras") as archive:
        assert not json.loads(archive.read("config.json")).get("compile_config")
    plugin = dataclasses.replace(get_registry().get("pumml"), artifact=tmp_path / "pumml")
    out = hepml_coffea.attach(read_pileup(qcd_pu30), [plugin])
    weights = ak.to_numpy(ak.flatten(out.PFCands.pumml_weight))
    assert len(weights) and ((weights >= 0) & (weights <= 1)).all()
    assert np.isfinite(ak.to_numpy(ak.flatten(out.FatJet.pumml_mass))).all()


def test_the_mixture_is_generated_into_the_cache_once_with_its_time(tmp_path):
    from hepml_coffea.pileup.training import training_samples

    ((path, mu, seed, seconds),) = training_samples([(5.0, 6)], cache=tmp_path)
    assert path.parent == tmp_path and path.exists()
    assert (mu, seed) == (5.0, TRAINING_SEEDS[0]) and seconds > 0
    ((again, _, _, cached_seconds),) = training_samples([(5.0, 6)], cache=tmp_path)
    assert again == path and cached_seconds is None  # cached: no generation time to record
