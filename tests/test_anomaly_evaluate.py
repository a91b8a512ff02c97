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
