"""A plugin published as its own pip package is found through its entry point.

The example package in examples/thirdparty-tagger and a deliberately broken one are pip-installed
into a throw-away folder on ``PYTHONPATH``: the interpreter running the tests (a user's virtual
environment) then finds them through their entry points beside everything it already has. (A nested
``venv --system-site-packages`` would see the base interpreter's packages, not this environment's.)
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packages import pip_install

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "thirdparty-tagger"


def _make_broken_package(root: Path) -> Path:
    (root / "hepml_broken_plugin").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "hepml-broken-plugin"
        version = "0.0.1"
        [project.entry-points.hepml_coffea]
        broken = "hepml_broken_plugin.plugin"
        [tool.setuptools]
        packages = ["hepml_broken_plugin"]
    """)
    )
    (root / "hepml_broken_plugin" / "__init__.py").write_text("")
    (root / "hepml_broken_plugin" / "plugin.py").write_text("import a_module_that_does_not_exist\n")
    return root


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> dict[str, str]:
    """Environment variables under which this interpreter sees the two installed plugin packages."""
    root = tmp_path_factory.mktemp("thirdparty")
    target = root / "site-packages"
    broken = _make_broken_package(root / "broken")
    pip_install(target, EXAMPLE, broken)
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env={**os.environ, **env}
    )


def _plugins(env: dict[str, str]):
    result = _run(env, "-m", "hepml_coffea.cli", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}, result.stderr


def test_installed_package_is_discovered_and_broken_one_only_warns(plugin_path):
    plugins, stderr = _plugins(plugin_path)
    assert plugins["tau21_twoprong"]["package"] == "hepml-thirdparty-tagger"
    assert plugins["tau21_twoprong"]["outputs"] == {"tau21_twoprong_score": "float32"}
    assert {"cutbased", "substructure_dnn"} <= set(plugins)
    assert "hepml-broken-plugin" in stderr and "a_module_that_does_not_exist" in stderr


def test_kill_switches(plugin_path):
    plugins, stderr = _plugins({**plugin_path, "HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert "tau21_twoprong" not in plugins and "cutbased" in plugins
    assert "hepml-broken-plugin" not in stderr
    plugins, stderr = _plugins(
        {**plugin_path, "HEPML_COFFEA_BLOCK_PLUGINS": "broken,thirdparty_tagger"}
    )
    assert "tau21_twoprong" not in plugins and "hepml-broken-plugin" not in stderr


def test_thirdparty_plugin_attaches_columns(plugin_path):
    script = textwrap.dedent("""
        import warnings; warnings.simplefilter("ignore")
        import awkward as ak, numpy as np
        from hepml_coffea.events import open_nanoaod
        import hepml_coffea
        from hepml_coffea.data import cms_file
        events = open_nanoaod(cms_file("pfnano"), "virtual")
        jets = ak.flatten(hepml_coffea.attach(events, "tau21_twoprong").FatJet)
        expected = 1 - ak.to_numpy(jets["tau2"] / jets["tau1"])
        assert np.allclose(ak.to_numpy(jets.tau21_twoprong_score), expected, rtol=1e-5)
        print(len(jets))
    """)
    result = _run(plugin_path, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "24"
