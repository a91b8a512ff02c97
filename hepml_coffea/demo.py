"""``hepml-coffea demo``: the main job on the real CMS files shipped with the package."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
from rich.table import Table

from hepml_coffea.columns import attach
from hepml_coffea.data import cms_file
from hepml_coffea.display import make_console
from hepml_coffea.features import top_window_features
from hepml_coffea.registry import BUILTIN_DISTRIBUTION, get_registry


def builtin_fatjet_plugins() -> list[str]:
    return [p.name for p in get_registry().plugins.values()
            if p.package == BUILTIN_DISTRIBUTION and p.collection == "FatJet"]


def demo_fileset() -> dict[str, dict]:
    """The real CMS PFNano file: the built-in taggers need its PF candidates."""
    return {"cms_pfnano": {"files": {str(cms_file("pfnano")): "Events"}}}


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two samples (ties broken by order; the scores are continuous)."""
    import numpy as np

    ranks_a, ranks_b = (np.argsort(np.argsort(np.asarray(x))) for x in (a, b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _jet_tables(plugins: list[str], n_rows: int = 8) -> tuple[Table, Table]:
    """The first jets with their columns, and every score's rank correlation with CMS ParticleNet."""
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    path = cms_file("pfnano")
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=PFNanoAODSchema,
                                         mode="eager", metadata={"filename": str(path)}).events()
    jets = ak.flatten(attach(events, plugins).FatJet)
    registry = get_registry()
    columns = [c for name in plugins for c in registry.get(name).column_names]
    table = Table(title=f"First {n_rows} FatJets of {path.name} with the attached columns")
    for header in ("pt", "msoftdrop", "tau32", *columns, "CMS particleNet_TvsQCD"):
        table.add_column(header.removesuffix("_top"), justify="right")
    tau32 = top_window_features(ak.Array({"FatJet": [jets]}))[:, 1]
    for i in range(min(n_rows, len(jets))):
        row = [f"{jets.pt[i]:.0f}", f"{jets.msoftdrop[i]:.1f}", f"{tau32[i]:.2f}"]
        row += [f"{jets[c][i]:.3f}" for c in columns]
        row.append(f"{jets.particleNet_TvsQCD[i]:.3f}")
        table.add_row(*row)
    correlation = Table(title=f"Rank correlation with CMS's FatJet_particleNet_TvsQCD on all {len(jets)} jets "
                              "(a sanity check: our taggers never saw CMS simulation)")
    correlation.add_column("column")
    correlation.add_column("Spearman rho", justify="right")
    for column in columns:
        correlation.add_row(column, f"{rank_correlation(jets[column], jets.particleNet_TvsQCD):+.2f}")
    return table, correlation


def plot_scores(output: dict, path: Path) -> Path:
    """One panel per score column: its distribution per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    hists = output["hists"]
    n_columns = min(4, len(hists))
    n_rows = -(-len(hists) // n_columns)
    fig, axes = plt.subplots(n_rows, n_columns, figsize=(4 * n_columns, 3.2 * n_rows), squeeze=False)
    for ax in axes.flat[len(hists):]:
        ax.axis("off")
    for ax, (column, histogram) in zip(axes.flat, hists.items()):
        for dataset in histogram.axes["dataset"]:
            projection = histogram[{"dataset": dataset}].project("score")
            if projection.sum().value > 0:
                mplhep.histplot(projection, ax=ax, label=dataset)
        ax.set_xlabel(column)
        ax.set_ylabel("jets")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_demo(output_dir: Path, executor: str = "iterative", workers: int = 2) -> int:
    from coffea.util import save

    from hepml_coffea.execution import run_processor
    from hepml_processors import TaggingProcessor

    console = make_console()
    plugins = builtin_fatjet_plugins()
    console.print(f"[bold]hepml-coffea demo[/]: attaching {', '.join(plugins)} to real CMS PFNano "
                  f"({cms_file('pfnano').name}) with the {executor} executor")
    output = run_processor(TaggingProcessor(plugins), demo_fileset(), executor=executor,
                           workers=workers, chunksize=20)
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
    for table in _jet_tables(plugins):
        console.print(table)
    console.print(f"Histograms (dataset x mass x score) for {', '.join(output['hists'])} written to "
                  f"{output_dir / 'demo.coffea'}; score plot: {plot}")
    return 0
