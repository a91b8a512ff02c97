"""``hepml-coffea run`` and ``attach`` take every built-in plugin, whatever its kind and wherever
its outputs live, and composed ones (``pfn@puppi``), in every executor and mode, on a generated
MU 60 sample (the pileup regressions once crashed the processor: their per-candidate weights are
not jet columns)."""

import json

import awkward as ak
import numpy as np
import pytest
from coffea.util import load

from hepml_coffea.cli import main
from hepml_coffea.events import open_nanoaod
from hepml_coffea.executors import EXECUTORS
from hepml_coffea.registry import BUILTIN_DISTRIBUTION, get_registry


@pytest.fixture(scope="module")
def ttbar_mu60(tmp_path_factory):
    from hepml_coffea.samples import generate_sample

    path = tmp_path_factory.mktemp("mu60") / "ttbar_mu60.root"
    return generate_sample("ttbar", 24, path, pileup=60.0, seed=11, progress=False)


#: composed plugins: taggers on the candidates of a weighted pileup regression
COMPOSED = ("pfn@puppi", "particlenet_lite@pumml")


def builtin_names() -> list[str]:
    registry = get_registry()
    builtins = [p.name for p in registry.plugins.values() if p.package == BUILTIN_DISTRIBUTION]
    return builtins + list(COMPOSED)


def _run(sample, executor: str, tmp_path) -> dict:
    fileset = tmp_path / f"fileset_{executor}.json"
    fileset.write_text(json.dumps({"ttbar": [str(sample)]}))
    output = tmp_path / f"{executor}.coffea"
    names = ",".join(builtin_names())
    arguments = ["run", "--fileset", str(fileset), "--plugins", names, "--executor", executor]
    arguments += ["--workers", "1", "--chunksize", "12", "--output", str(output), "--quiet"]
    assert main(arguments) == 0
    return load(output)


def test_every_builtin_plugin_runs_in_every_executor(ttbar_mu60, tmp_path):
    results = {executor: _run(ttbar_mu60, executor, tmp_path) for executor in EXECUTORS}
    events = open_nanoaod(ttbar_mu60, "eager")
    candidates = int(ak.sum(ak.num(events.PFCands, axis=1)))
    expected = set()
    for plugin in map(get_registry().get, builtin_names()):
        for output in plugin.outputs:
            target = plugin.output_collection(output)
            column = plugin.column_name(output)
            expected.add(column if target == "FatJet" else f"{target}.{column}")
    reference = results["iterative"]
    assert set(reference["hists"]) == expected
    # an output on another collection is histogrammed over all of its objects
    weights = reference["hists"]["PFCands.puppi_weight"][{"dataset": "ttbar"}]
    assert weights.sum(flow=True).value == pytest.approx(candidates)
    assert "value" in weights.axes.name
    for executor, result in results.items():
        assert result["cutflow"] == reference["cutflow"], executor
        for key, histogram in reference["hists"].items():
            np.testing.assert_allclose(
                result["hists"][key].values(flow=True),
                histogram.values(flow=True),
                rtol=1e-5,
                err_msg=f"{key} under {executor}",
            )


def test_every_builtin_plugin_attaches_identically_in_every_mode(ttbar_mu60):
    import dask

    from hepml_coffea import attach

    names = builtin_names()
    columns = []
    for plugin in map(get_registry().get, names):
        for output in plugin.outputs:
            target = plugin.output_collection(output)
            columns.append((target, plugin.column_name(output)))

    def values(mode: str) -> list:
        events = attach(open_nanoaod(ttbar_mu60, mode), names)
        arrays = [events[target][column] for target, column in columns]
        if mode == "dask":
            arrays = dask.compute(*arrays)
        return [ak.to_numpy(ak.flatten(array)) for array in arrays]

    eager = values("eager")
    for mode in ("virtual", "dask"):
        for (target, column), expected, found in zip(columns, eager, values(mode), strict=True):
            np.testing.assert_array_equal(found, expected, err_msg=f"{target}.{column} in {mode}")
