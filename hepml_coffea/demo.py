"""``hepml-coffea demo``: the main job on the real CMS files shipped with the package."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import awkward as ak
from rich.table import Table

from hepml_coffea.columns import attach
from hepml_coffea.data import cms_file
from hepml_coffea.display import make_console, silence_coffea
from hepml_coffea.events import open_nanoaod
from hepml_coffea.features import top_window_features
from hepml_coffea.registry import BUILTIN_DISTRIBUTION, get_registry

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: what pfnano.root is (hepml_coffea/data/cms/README.md): its Runs tree carries generator sums.
SAMPLE = "CMS simulation, PFNano (coffea test file pfnano.root)"


def builtin_fatjet_plugins() -> list[str]:
    """The built-in FatJet plugins that run on the CMS file: those whose branches it has (the
    pileup regressions need the leading-vertex truth and rho branches of `hepml-coffea
    generate` samples)."""
    import uproot

    with uproot.open(cms_file("pfnano")) as file:
        branches = set(file["Events"].keys())
    return [
        p.name
        for p in get_registry().plugins.values()
        if p.package == BUILTIN_DISTRIBUTION
        and p.collection == "FatJet"
        and set(p.required_branches) <= branches
    ]


def demo_fileset() -> dict[str, dict]:
    """The real CMS PFNano file: the built-in taggers need its PF candidates."""
    return {"cms_pfnano": {"files": {str(cms_file("pfnano")): "Events"}}}


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two samples (ties broken by order; the scores are continuous)."""
    import numpy as np

    ranks_a, ranks_b = (np.argsort(np.argsort(np.asarray(x))) for x in (a, b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


@contextmanager
def _expected_schema_warnings_ignored() -> Iterator[None]:
    """PFNanoAODSchema warns that pfnano.root lacks LowPtElectron cross-references and fills
    Photon mass and charge; expected for this file (data/cms/README.md), so not shown."""
    with warnings.catch_warnings():
        for message in (
            "Missing cross-reference index for LowPtElectron_",
            r"Branch Photon_\w+ already exists",
        ):
            warnings.filterwarnings(
                "ignore",
                message=message,
                category=RuntimeWarning,
                module=r"coffea\.nanoevents\.schemas\.nanoaod",
            )
        yield


def load_demo_jets(plugins: list[str]) -> ak.Array:
    """Every FatJet of pfnano.root with the columns of ``plugins`` attached."""
    events = open_nanoaod(cms_file("pfnano"), "eager")
    return ak.flatten(attach(events, plugins).FatJet)


def jet_tables(jets: ak.Array, columns: list[str], n_jets: int = 6) -> tuple[Table, Table]:
    """The first ``n_jets`` jets, one per table column so that every score fits in 80 columns, and
    each score's rank correlation with CMS's ParticleNet on all jets."""
    n_jets = min(n_jets, len(jets))
    tau32 = top_window_features(ak.Array({"FatJet": [jets]}))[:, 1]
    rows = [
        ("pt [GeV]", [f"{pt:.0f}" for pt in jets.pt[:n_jets]]),
        ("msoftdrop [GeV]", [f"{m:.1f}" for m in jets.msoftdrop[:n_jets]]),
        ("tau32", [f"{t:.2f}" for t in tau32[:n_jets]]),
        *((column, [f"{s:.3f}" for s in jets[column][:n_jets]]) for column in columns),
        ("CMS particleNet_TvsQCD", [f"{s:.3f}" for s in jets.particleNet_TvsQCD[:n_jets]]),
    ]
    table = Table(title=f"The first {n_jets} FatJets with the attached columns")
    table.add_column("", no_wrap=True)
    for i in range(n_jets):
        table.add_column(f"jet {i + 1}", justify="right", no_wrap=True)
    for name, values in rows:
        table.add_row(name, *values, end_section=name == "tau32")
    correlation = Table(
        title=f"Rank correlation with CMS's particleNet_TvsQCD on all {len(jets)} jets "
        "(a sanity check: our taggers never saw CMS simulation)"
    )
    correlation.add_column("column", no_wrap=True)
    correlation.add_column("Spearman rho", justify="right", no_wrap=True)
    for column in columns:
        correlation.add_row(
            column, f"{rank_correlation(jets[column], jets.particleNet_TvsQCD):+.2f}"
        )
    return table, correlation


def score_figure(output: dict[str, Any], sample: str = SAMPLE, n_bins: int = 10) -> Figure:
    """One panel per score column: its distribution per dataset, as a step histogram of
    ``n_bins`` bins (when the score axis divides into them) on a log scale."""
    import hist
    import mplhep
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    hists = output["hists"]
    most_jets = max(1, *(int(counts["selected jets"]) for counts in output["cutflow"].values()))
    n_columns = min(3, len(hists))
    n_rows = -(-len(hists) // n_columns)
    fig = Figure(figsize=(7 * n_columns, 5.5 * n_rows + 0.8), layout="constrained")
    axes = fig.subplots(n_rows, n_columns, squeeze=False).flat
    for (column, histogram), ax in zip(hists.items(), axes, strict=False):
        n_score_bins = histogram.axes["score"].size
        factor = n_score_bins // n_bins if n_score_bins % n_bins == 0 else 1
        for dataset in histogram.axes["dataset"]:
            n_jets = int(output["cutflow"][dataset]["selected jets"])
            projection = histogram[{"dataset": dataset}].project("score")[:: hist.rebin(factor)]
            mplhep.histplot(
                projection,
                ax=ax,
                yerr=False,
                histtype="step",
                linewidth=2.5,
                label=f"{dataset} ({n_jets} jets)",
            )
        ax.set_yscale("log")
        ax.set_ylim(0.5, 8 * most_jets)  # one scale for all panels, room for the legend
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 1, 10, 100 jets
        ax.set_xlabel("tagger score")
        ax.set_ylabel("jets")
        ax.legend(title=column, loc="upper right")
    for ax in axes:  # the rest of a last row that is not full
        fig.delaxes(ax)
    fig.suptitle(f"hepml-coffea demo: {sample}")
    return fig


def plot_scores(output: dict[str, Any], path: Path) -> Path:
    """Draw :func:`score_figure` in mplhep's CMS style and write it to ``path``."""
    import matplotlib.pyplot as plt
    import mplhep

    with plt.style.context(mplhep.style.CMS):  # fonts are looked up when the figure is drawn
        score_figure(output).savefig(path, dpi=100)
    return path


def run_demo(
    output_dir: Path, executor: str = "iterative", workers: int = 2, quiet: bool = False
) -> int:
    from coffea.util import save
    from hepml_processors import TaggingProcessor

    from hepml_coffea.executors import run_processor

    console = make_console()
    plugins = builtin_fatjet_plugins()
    console.print(
        f"[bold]hepml-coffea demo[/]: attaching {', '.join(plugins)} to real CMS PFNano "
        f"({cms_file('pfnano').name}) with the {executor} executor"
    )
    with _expected_schema_warnings_ignored(), silence_coffea() if quiet else nullcontext():
        output = run_processor(
            TaggingProcessor(plugins),
            demo_fileset(),
            executor=executor,
            workers=workers,
            chunksize=20,
            progress=not quiet,
        )
        jets = load_demo_jets(plugins)
    output_dir.mkdir(parents=True, exist_ok=True)
    save(output, output_dir / "demo.coffea")
    plot = plot_scores(output, output_dir / "scores.png")

    cutflow = Table(title="Cutflow")
    cutflow.add_column("dataset")
    steps = list(next(iter(output["cutflow"].values())))
    for step in steps:
        cutflow.add_column(step, justify="right")
    for dataset, counts in output["cutflow"].items():
        cutflow.add_row(dataset, *(str(int(counts[s])) for s in steps))
    console.print(cutflow)
    registry = get_registry()
    for table in jet_tables(jets, [c for name in plugins for c in registry.get(name).column_names]):
        console.print(table)
    console.print(
        f"Histograms (dataset x mass x score) for {', '.join(output['hists'])} written to "
        f"{output_dir / 'demo.coffea'}; score plot: {plot}"
    )
    return 0
