"""``hepml-coffea demo``: clean output, tables that fit 80 columns, a score plot fit for a slide."""

import io
import os
import subprocess
import sys

import awkward as ak
import numpy as np
import pytest
from coffea.util import load
from hepml_processors import TaggingProcessor
from matplotlib.container import ErrorbarContainer
from matplotlib.legend import Legend
from matplotlib.patches import StepPatch
from real_cms import open_events
from rich.console import Console

from hepml_coffea import attach, get_registry
from hepml_coffea.demo import (
    builtin_fatjet_plugins,
    demo_fileset,
    jet_tables,
    rank_correlation,
    score_figure,
)
from hepml_coffea.executors import run_processor

BUILTIN_TAGGERS = {
    "cutbased",
    "substructure_dnn",
    "topodnn",
    "pfn",
    "pfn_md",
    "pfn_ddt",
    "efn",
    "deeptop_cnn",
    "particlenet_lite",
}
BUILTIN_ANOMALY_SCORES = {"jet_autoencoder", "jet_autoencoder_md", "jet_density"}
#: every column the demo shows: the taggers' top scores and the anomaly scores
DEMO_COLUMNS = {f"{name}_top" for name in BUILTIN_TAGGERS} | {
    f"{name}_score" for name in BUILTIN_ANOMALY_SCORES
}
NOISE = (
    "oneDNN",
    "absl",
    "cpu_feature_guard",
    "retracing",
    "RuntimeWarning",
    "Missing cross-reference",
    "already exists",
)


def test_demo_runs_on_the_shipped_cms_files_without_log_noise(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"
    }  # a user's shell sets none
    result = subprocess.run(
        [sys.executable, "-m", "hepml_coffea.cli", "demo", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out = result.stdout
    assert "particleNet_TvsQCD" in out and "Spearman" in out
    assert all(column in out for column in DEMO_COLUMNS)
    assert not [noise for noise in NOISE if noise in out + result.stderr], result.stderr
    output = load(tmp_path / "demo.coffea")
    assert output["cutflow"]["cms_pfnano"]["jets"] == 24
    assert set(output["hists"]) == DEMO_COLUMNS
    assert (tmp_path / "scores.png").stat().st_size > 10_000


def test_rank_correlation_of_monotonic_relations():
    x = np.random.default_rng(1).normal(size=50)
    assert np.isclose(rank_correlation(x, np.exp(x)), 1.0)
    assert np.isclose(rank_correlation(x, -3 * x), -1.0)


def _render(table) -> str:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def _cells(text: str) -> dict[str, list[str]]:
    """Row label -> the other cells of each row of a rendered table."""
    rows = (line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│"))
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows}


def test_jet_tables_fit_80_columns_and_keep_every_value_whole():
    jets = ak.flatten(attach(open_events("pfnano"), ["cutbased"]).FatJet)
    columns = [
        c for name in builtin_fatjet_plugins() for c in get_registry().get(name).column_names
    ]
    assert set(columns) == DEMO_COLUMNS
    rng = np.random.default_rng(0)
    for column in (
        columns
    ):  # scores of the demo's width for every built-in column, without loading nine models
        jets = ak.with_field(jets, rng.uniform(size=len(jets)), column)
    scores, correlations = (_render(table) for table in jet_tables(jets, columns))
    for text in (scores, correlations):
        assert max(map(len, text.splitlines())) <= 80, text
    cells = _cells(scores)
    n_jets = len(cells["pt [GeV]"])
    assert n_jets >= 5
    assert cells["pt [GeV]"] == [f"{pt:.0f}" for pt in jets.pt[:n_jets]]
    assert cells["CMS particleNet_TvsQCD"] == [f"{s:.3f}" for s in jets.particleNet_TvsQCD[:n_jets]]
    for column in columns:
        assert cells[column] == [f"{s:.3f}" for s in jets[column][:n_jets]]
    rho = {
        column: f"{rank_correlation(jets[column], jets.particleNet_TvsQCD):+.2f}"
        for column in columns
    }
    assert _cells(correlations) == {c: [r] for c, r in rho.items()}


@pytest.fixture(scope="module")
def four_tagger_output():
    taggers = ["cutbased", "substructure_dnn", "pfn", "efn"]
    return run_processor(TaggingProcessor(taggers), demo_fileset(), chunksize=20, progress=False)


def test_score_figure_has_one_labelled_step_histogram_per_tagger(four_tagger_output):
    fig = score_figure(four_tagger_output)
    columns = set(four_tagger_output["hists"])
    assert len(fig.axes) == len(columns)  # 4 taggers on a 3-wide grid: no empty panel left
    titles = set()
    for ax in fig.axes:
        assert ax.get_xlabel() == "tagger score" and ax.get_ylabel() == "jets"
        legend = ax.get_legend()
        assert isinstance(legend, Legend)
        titles.add(legend.get_title().get_text())
        assert [t.get_text() for t in legend.get_texts()] == ["cms_pfnano (24 jets)"]
        steps = [patch for patch in ax.patches if isinstance(patch, StepPatch)]
        assert (
            sum(step.get_data().values.sum() for step in steps) == 24
        )  # every jet, drawn as steps
        assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert titles == columns
    assert "CMS simulation" in fig.get_suptitle()
