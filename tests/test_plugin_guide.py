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
