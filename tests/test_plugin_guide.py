"""The plugin author's guide (docs/plugins.md) works as written: its example plugin attaches the
column it promises, in every mode, and its package files install into a discoverable plugin."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import awkward as ak
import dask
import numpy as np
import pytest
from packages import pip_install
from real_cms import open_events

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "plugins.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE, flags=re.S)


def guide_plugin_module() -> dict:
    namespace: dict = {}
    exec(compile(blocks("python")[1], "docs/plugins.md (worked example)", "exec"), namespace)
    return namespace


def expected_scores(jets) -> np.ndarray:
    tau32 = ak.to_numpy(ak.flatten(jets["tau3"] / jets["tau2"]))
    msd = ak.to_numpy(ak.flatten(jets["msoftdrop"]))
    return np.where((msd > 105) & (msd < 210), 1 - tau32, 0.0)


def test_the_try_it_snippet_runs_and_prints_the_column(capsys):
    namespace = guide_plugin_module()
    exec(compile(blocks("python")[2], "docs/plugins.md (try it)", "exec"), namespace)
    assert "tau32_window_score" in namespace["events"].FatJet.fields
    assert capsys.readouterr().out.strip().startswith("[[")


@pytest.mark.parametrize("mode", ["eager", "virtual", "dask"])
def test_the_worked_example_attaches_what_it_promises(mode):
    import hepml_coffea

    plugin = guide_plugin_module()["TAU32_WINDOW"]
    jets = hepml_coffea.attach(open_events("pfnano", mode=mode), [plugin]).FatJet
    if mode == "dask":
        (jets,) = dask.compute(jets)
    scores = ak.to_numpy(ak.flatten(jets.tau32_window_score))
    np.testing.assert_allclose(scores, expected_scores(open_events("pfnano").FatJet), rtol=1e-6)
    assert (scores > 0).sum() >= 1  # the file has jets in the window


def test_the_guide_package_installs_and_is_discovered(tmp_path):
    package = tmp_path / "my-tagger"
    (package / "my_tagger").mkdir(parents=True)
    (package / "pyproject.toml").write_text(blocks("toml")[0])
    (package / "my_tagger" / "__init__.py").write_text("")
    (package / "my_tagger" / "plugin.py").write_text(blocks("python")[1])
    target = tmp_path / "site-packages"
    pip_install(target, package)
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-m", "hepml_coffea.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["tau32_window"]["package"] == "my-tagger"
    assert plugins["tau32_window"]["outputs"] == {"tau32_window_score": "float32"}


def test_the_guide_kind_and_event_level_plugin_install_and_run(tmp_path):
    """Section 6: a package adding a kind and an event-level plugin of it, written from the guide
    alone, is discovered, listed with its kind and run by `hepml-coffea run`."""
    from coffea.util import load

    from hepml_coffea.data import cms_file

    package = tmp_path / "my-shapes"
    (package / "my_shapes").mkdir(parents=True)
    (package / "pyproject.toml").write_text(blocks("toml")[1])
    (package / "my_shapes" / "__init__.py").write_text("")
    (package / "my_shapes" / "plugin.py").write_text(blocks("python")[3])
    target = tmp_path / "site-packages"
    pip_install(target, package)
    env = {**os.environ, "PYTHONPATH": str(target)}

    def cli(*arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hepml_coffea.cli", *arguments],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    plugins = {p["name"]: p for p in json.loads(cli("plugins", "--json"))}
    assert plugins["fatjet_ht"]["kind"] == "event-shape"
    assert plugins["fatjet_ht"]["package"] == "my-shapes"
    assert plugins["fatjet_ht"]["collection"] is None
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": [str(cms_file("pfnano"))]}))
    cli(
        "run",
        "--fileset",
        str(fileset),
        "--plugins",
        "fatjet_ht",
        "--output",
        "out.coffea",
        "--quiet",
    )
    histogram = load(tmp_path / "out.coffea")["hists"]["events.fatjet_ht_value"]
    events = open_events("pfnano")
    assert histogram[{"dataset": "cms"}].sum(flow=True).value == len(events)
    expected = ak.to_numpy(ak.sum(events.FatJet.pt, axis=1))
    centres = histogram.axes["value"].centers
    mean = (histogram[{"dataset": "cms"}].values() * centres).sum() / len(events)
    width = histogram.axes["value"].widths[0]
    assert abs(mean - expected[expected < 3000].sum() / len(events)) < width
