"""Truth-label histograms from the tagging processor and ``hepml-coffea check-decorrelation``.

End to end: generated files -> ``hepml-coffea run --truth-label`` -> ``.coffea`` histograms ->
``check-decorrelation``; the numbers must equal those computed from the unbinned jets.
"""

import json

import awkward as ak
import hist
import numpy as np
import pytest
from coffea.util import load
from hepml_processors import TaggingProcessor
from real_cms import open_events

from hepml_coffea import attach
from hepml_coffea.cli import main
from hepml_coffea.decorrelation import jensen_shannon
from hepml_coffea.errors import ConfigurationError, MissingBranchError
from hepml_coffea.events import open_nanoaod

MASS_BINS = np.linspace(0, 300, 61)


@pytest.fixture(scope="module")
def run_output(generated_ttbar_qcd, tmp_path_factory):
    folder = tmp_path_factory.mktemp("decorrelation")
    signal, background = generated_ttbar_qcd
    fileset = folder / "fileset.json"
    fileset.write_text(json.dumps({"ttbar": [str(signal)], "qcd": [str(background)]}))
    output = folder / "out.coffea"
    assert (
        main(
            [
                "run",
                "--fileset",
                str(fileset),
                "--plugins",
                "cutbased,substructure_dnn",
                "--truth-label",
                "truthLabel",
                "--output",
                str(output),
                "--quiet",
            ]
        )
        == 0
    )
    return output, folder


def _jets(path):
    events = open_nanoaod(path, "eager")
    jets = ak.flatten(attach(events, ["substructure_dnn"]).FatJet)
    jets = jets[(jets.pt > 200) & (abs(jets.eta) < 2.4)]
    return {f: ak.to_numpy(jets[f]) for f in ("msoftdrop", "truthLabel", "substructure_dnn_top")}


def test_histograms_get_a_truth_label_axis(run_output, generated_ttbar_qcd):
    h = load(run_output[0])["hists"]["substructure_dnn_top"]
    assert h.axes.name == ("dataset", "label", "mass", "score")
    ttbar = _jets(generated_ttbar_qcd[0])
    for label in (0, 1):
        expected = int(np.sum(ttbar["truthLabel"] == label))
        assert (
            h[{"dataset": "ttbar", "label": hist.loc(label), "mass": sum, "score": sum}].value
            == expected
        )


def test_check_decorrelation_equals_the_unbinned_computation(
    run_output, generated_ttbar_qcd, capsys
):
    output, folder = run_output
    report_dir = folder / "report"
    assert (
        main(
            [
                "check-decorrelation",
                str(output),
                "--signal-dataset",
                "ttbar",
                "--background-dataset",
                "qcd",
                "--output-dir",
                str(report_dir),
            ]
        )
        == 0
    )
    table = (report_dir / "decorrelation.md").read_text()
    assert "substructure_dnn_top" in capsys.readouterr().out
    header, _, *rows = (line.strip("|").split("|") for line in table.splitlines())
    row = dict(
        zip(
            (name.strip() for name in header),
            next(r for r in rows if r[0].strip() == "substructure_dnn_top"),
            strict=False,
        )
    )
    r50, inv_jsd50, threshold = (float(row[column]) for column in ("R50", "1/JSD50", "threshold"))

    signal = _jets(generated_ttbar_qcd[0])
    background = _jets(generated_ttbar_qcd[1])
    top = signal["truthLabel"] == 1
    qcd = background["truthLabel"] == 0
    passed = background["substructure_dnn_top"][qcd] >= threshold
    assert np.isclose(r50, 1 / passed.mean(), rtol=1e-3)  # the table prints 4 significant digits
    assert abs(np.mean(signal["substructure_dnn_top"][top] >= threshold) - 0.5) < 0.1
    mass = background["msoftdrop"][qcd]
    jsd = jensen_shannon(
        np.histogram(mass[passed], MASS_BINS)[0], np.histogram(mass[~passed], MASS_BINS)[0]
    )
    assert np.isclose(inv_jsd50, 1 / jsd, rtol=1e-3)
    assert (report_dir / "sculpting_substructure_dnn_top.png").exists()
    assert (report_dir / "r50_vs_inv_jsd50.png").exists()


def test_without_labels_both_datasets_are_needed(run_output, tmp_path, capsys):
    from coffea.util import save

    hists = load(run_output[0])
    hists["hists"] = {name: h[{"label": sum}] for name, h in hists["hists"].items()}
    unlabelled = tmp_path / "unlabelled.coffea"
    save(hists, unlabelled)
    assert main(["check-decorrelation", str(unlabelled), "--signal-dataset", "ttbar"]) == 2
    assert "must be chosen by dataset" in capsys.readouterr().err


def test_truth_label_on_data_is_a_clear_error():
    events = open_events("pfnano")
    with pytest.raises(MissingBranchError, match="truth labels exist only in generated samples"):
        TaggingProcessor(["cutbased"], truth_label="truthLabel").process(events)


@pytest.mark.parametrize("mode", ["eager", "dask"])
def test_a_truth_label_that_is_not_an_integer_is_a_clear_error(mode):
    events = open_events("pfnano", mode)
    with pytest.raises(ConfigurationError, match=r"FatJet.pt in dataset .* holds float32, not int"):
        TaggingProcessor(["cutbased"], truth_label="pt").process(events)
