"""``hepml-coffea evaluate-anomaly`` end to end on small generated samples."""

import json

import pytest

from hepml_coffea.cli import main
from hepml_coffea.registry import get_registry


def test_evaluate_anomaly_writes_table_metrics_and_plots(generated_ttbar_qcd, tmp_path, capsys):
    ttbar, qcd = generated_ttbar_qcd
    density = get_registry().get("jet_density").artifact  # stands in for a top-trained artifact
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate-anomaly",
            "--plugins",
            "jet_density,jet_autoencoder",
            "--qcd",
            str(qcd),
            "--top",
            str(ttbar),
            "--inverse",
            f"jet_density={density}",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    top = metrics["signals"]["top"]
    assert set(top) == {"jet_density", "jet_autoencoder", "msoftdrop"}
    for m in top.values():
        assert 0.0 <= m["auc"] <= 1.0 and m["n_signal"] > 50 and m["window_n_background"] > 0
    # scoring QCD as the anomaly with a QCD-trained density inverts its top AUC
    assert metrics["inverse_auc"]["jet_density"] == pytest.approx(1 - top["jet_density"]["auc"])
    table = (out / "table.md").read_text()
    assert table in capsys.readouterr().out and "| top | msoftdrop |" in table
    assert {p.name for p in out.glob("*.png")} >= {"roc_top.png", "sculpting_top_jet_density.png"}


def test_an_inverse_spec_without_artifact_is_a_clear_error(generated_ttbar_qcd, tmp_path, capsys):
    ttbar, qcd = generated_ttbar_qcd
    code = main(
        ["evaluate-anomaly", "--qcd", str(qcd), "--top", str(ttbar)]
        + ["--inverse", "jet_density", "--output-dir", str(tmp_path)]
    )
    assert code == 2
    assert "--inverse 'jet_density': write PLUGIN=ARTIFACT_DIR" in capsys.readouterr().err


def test_scores_go_through_the_pipeline_postprocess_and_every_output(generated_ttbar_qcd):
    """A postprocessed anomaly score of two outputs is scored as attach computes it, one score
    per output (evaluate-anomaly once read the raw features and only one output)."""
    import awkward as ak
    import numpy as np

    from hepml_coffea import Output, Plugin, attach
    from hepml_coffea.anomaly.evaluate import score_sample
    from hepml_coffea.events import open_nanoaod

    _, qcd = generated_ttbar_qcd
    plugin = Plugin(
        name="mass_and_pt",
        kind="anomaly-score",
        collection="FatJet",
        required_branches=("FatJet_msoftdrop", "FatJet_pt"),
        outputs=(Output("mass", range=(0, 400)), Output("inverse_pt", range=(0, 1))),
        features=lambda events: np.stack(
            [ak.to_numpy(ak.flatten(events.FatJet[f])) for f in ("msoftdrop", "pt")], axis=1
        ),
        postprocess=lambda x: {"mass": x[:, 0], "inverse_pt": 1.0 / x[:, 1]},
    )
    scored = score_sample([plugin], qcd, None)
    jets = attach(open_nanoaod(qcd, "eager"), [plugin]).FatJet
    assert set(scored.scores) == {"mass_and_pt_mass", "mass_and_pt_inverse_pt", "msoftdrop"}
    np.testing.assert_array_equal(
        np.sort(scored.scores["mass_and_pt_inverse_pt"]),
        np.sort(ak.to_numpy(ak.flatten(jets.mass_and_pt_inverse_pt))),
    )
    np.testing.assert_array_equal(scored.scores["mass_and_pt_mass"], scored.mass)
