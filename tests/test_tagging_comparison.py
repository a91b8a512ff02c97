"""``hepml-coffea evaluate``: the comparison table, ROC curves and their agreement with the metrics."""

import json
import re

import numpy as np

from hepml_coffea.cli import main
from hepml_coffea.tagging.comparison import TaggerEvaluation, evaluation_table, roc_curve
from hepml_coffea.training.roc_metrics import background_rejection


def test_roc_curve_matches_background_rejection():
    rng = np.random.default_rng(3)
    labels = np.r_[np.ones(2000), np.zeros(8000)]
    scores = np.r_[rng.normal(1.5, 1, 2000), rng.normal(0, 1, 8000)]
    efficiency, rejection = roc_curve(scores, labels)
    assert np.all(np.diff(efficiency) >= 0) and efficiency[-1] == 1.0
    at_half = np.searchsorted(efficiency, 0.5)
    assert np.isclose(rejection[at_half], background_rejection(scores, labels, 0.5), rtol=0.02)


def test_table_orders_by_auc_and_marks_networkless_taggers():
    def evaluation(name, auc, parameters, rate):
        return TaggerEvaluation(
            name,
            f"{name}_top",
            auc,
            0.9,
            100.0,
            20.0,
            parameters,
            rate,
            10,
            10,
            np.zeros(20),
            np.r_[np.ones(10), np.zeros(10)],
        )

    table = evaluation_table(
        [evaluation("cutbased", 0.9, 0, None), evaluation("pfn", 0.98, 1234, 5000.0)]
    )
    rows = table.splitlines()[2:]
    assert rows[0].startswith("| pfn_top | 0.9800") and "1,234" in rows[0] and "5,000" in rows[0]
    assert rows[1].startswith("| cutbased_top") and rows[1].endswith("| - | - |")


def test_evaluate_command_writes_table_json_and_plots(generated_ttbar_qcd, tmp_path, capsys):
    signal, background = generated_ttbar_qcd
    code = main(
        [
            "evaluate",
            "--plugins",
            "cutbased,substructure_dnn,jet_density",
            "--signal",
            str(signal),
            "--background",
            str(background),
            "--output-dir",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    record = json.loads((tmp_path / "evaluation.json").read_text())
    results = {r["plugin"]: r for r in record["results"]}
    assert set(results) == {"cutbased", "substructure_dnn", "jet_density"}
    # an anomaly score is no probability: no accuracy at a cut of 0.5
    assert results["jet_density"]["accuracy"] is None and 0.5 < results["jet_density"]["auc"]
    assert 0.5 < results["substructure_dnn"]["accuracy"] <= 1.0
    assert (
        results["substructure_dnn"]["parameters"] > 1000
        and results["substructure_dnn"]["jets_per_second"] > 0
    )
    assert results["cutbased"]["parameters"] == 0 and 0.8 < results["cutbased"]["auc"] < 1.0
    assert results["cutbased"]["n_signal"] == results["substructure_dnn"]["n_signal"] > 50
    assert record["provenance"]["command"].startswith("hepml-coffea evaluate")
    assert (tmp_path / "roc.png").stat().st_size > 10_000 and (
        tmp_path / "scores.png"
    ).stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "| substructure_dnn_top |" in out
    assert re.search(r"\| jet_density_score \| 0\.\d{4} \| - \|", out), out


def test_evaluate_takes_a_plugin_whose_postprocess_reads_the_events(generated_ttbar_qcd):
    """The pipeline gives an events-aware postprocess its declared view in evaluate too: the
    scores are those attach computes for the same jets."""
    import awkward as ak

    from hepml_coffea import Output, Plugin
    from hepml_coffea.tagging.comparison import evaluate_taggers

    def msoftdrop(events):
        return ak.to_numpy(ak.flatten(events.FatJet["msoftdrop"]))[:, None]

    def mass_over_event_ht(raw, events):
        ht = ak.to_numpy(
            ak.flatten(ak.broadcast_arrays(ak.sum(events.FatJet.pt, axis=1), events.FatJet.pt)[0])
        )
        return {"ratio": raw[:, 0] / ht}

    plugin = Plugin(
        name="mass_over_ht",
        kind="tagger",
        collection="FatJet",
        required_branches=("FatJet_msoftdrop", "FatJet_pt"),
        outputs=(Output("ratio"),),
        features=msoftdrop,
        postprocess=mass_over_event_ht,
        postprocess_events=True,
    )
    signal, background = generated_ttbar_qcd
    (result,) = evaluate_taggers([plugin], [signal], [background], progress=False)
    assert result.column == "mass_over_ht_ratio" and 0.5 < result.auc <= 1.0
    assert np.all((result.scores >= 0) & (result.scores <= 1.0)) and result.scores.max() > 0.1
