"""Listing plugins, building a dask graph and asking for help never import TensorFlow or Keras.

Each check runs in a fresh interpreter, since this test process has long imported both.
"""

import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CHECK = """
import sys
{code}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print("LOADED", loaded[:3])
"""


def _loaded_modules(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(code=code)],
        capture_output=True,
        text=True,
        cwd=TESTS,
        check=True,
    )
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "code",
    [
        "from hepml_coffea import get_registry; assert len(get_registry().plugins) > 5",
        "from hepml_coffea.cli import main; assert main(['plugins', '--json']) == 0",
        "from hepml_coffea.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from hepml_coffea.cli import main\ntry:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass",
    ],
    ids=["registry", "plugins", "help", "run-help"],
)
def test_no_tensorflow_for_listing_or_help(code):
    assert _loaded_modules(code) == "LOADED []"


def test_no_tensorflow_while_building_a_dask_graph():
    code = """
import dask_awkward as dak
import hepml_coffea
from real_cms import open_events
# every network plugin that reads CMS files (the pileup regressions need generated-sample
# branches; tests/pileup/test_plugins.py checks pumml's graph on a generated sample)
names = [
    name
    for name, p in hepml_coffea.get_registry().plugins.items()
    if p.artifact and p.kind != hepml_coffea.PluginKind.PILEUP_REGRESSION
]
fatjets = hepml_coffea.attach(open_events("pfnano", mode="dask"), names).FatJet
assert isinstance(fatjets, dak.Array) and "pfn_top" in fatjets.fields and "particlenet_lite_top" in fatjets.fields
"""
    assert _loaded_modules(code) == "LOADED []"
