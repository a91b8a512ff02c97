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
    return {
        "cms_pfnano": {"files": {str(cms_file("pfnano")): "Events"}},
        "cms_drell_yan": {"files": {str(cms_file("drell_yan")): "Events"}},
    }


def _jet_table(plugins: list[str], n_rows: int = 8) -> Table:
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    path = cms_file("pfnano")
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=PFNanoAODSchema,
                                         mode="eager", metadata={"filename": str(path)}).events()
    jets = ak.flatten(attach(events, plugins).FatJet)[:n_rows]
    registry = get_registry()
    columns = [c for name in plugins for c in registry.get(name).column_names]
    table = Table(title=f"First {n_rows} FatJets of {path.name} with the attached columns")
    for header in ("pt", "msoftdrop", "tau32", *columns, "CMS particleNet_TvsQCD"):
        table.add_column(header, justify="right")
    tau32 = top_window_features(ak.Array({"FatJet": [jets]}))[:, 1]
    for i in range(len(jets)):
        row = [f"{jets.pt[i]:.0f}", f"{jets.msoftdrop[i]:.1f}", f"{tau32[i]:.2f}"]
        row += [f"{jets[c][i]:.3f}" for c in columns]
        row.append(f"{jets.particleNet_TvsQCD[i]:.3f}")
        table.add_row(*row)
    return table


def plot_scores(output: dict, path: Path) -> Path:
    """One panel per score column: its distribution per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    hists = output["hists"]
    fig, axes = plt.subplots(1, len(hists), figsize=(5 * len(hists), 4), squeeze=False)
    for ax, (column, histogram) in zip(axes[0], hists.items()):
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
    console.print(f"[bold]hepml-coffea demo[/]: attaching {', '.join(plugins)} to real CMS NanoAOD "
                  f"({cms_file('pfnano').name}, {cms_file('drell_yan').name}) with the {executor} executor")
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
    console.print(_jet_table(plugins))
    console.print(f"Histograms (dataset x mass x score) for {', '.join(output['hists'])} written to "
                  f"{output_dir / 'demo.coffea'}; score plot: {plot}")
    return 0
