"""The baseline of ``benchmarks/bench_backends.py``: network inputs built with awkward operations
as a coffea user writes them must equal hepml-coffea's, or the benchmark compares unlike work."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepml_coffea import get_registry, open_nanoaod

IDIOM = Path(__file__).resolve().parents[1] / "benchmarks" / "coffea_idiom.py"


def _idiom():
    spec = importlib.util.spec_from_file_location("coffea_idiom", IDIOM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IDIOM_MODULE = _idiom()


def _rows(name: str, events, input_ndim: int, compute: bool = False) -> np.ndarray:
    arrays = IDIOM_MODULE.BUILDERS[name](events.FatJet)
    if compute:
        arrays = tuple(a.compute() for a in arrays)
    return IDIOM_MODULE.network_input(name, tuple(ak.to_numpy(a) for a in arrays), input_ndim)


@pytest.mark.parametrize("name", sorted(IDIOM_MODULE.BUILDERS))
def test_awkward_built_inputs_equal_ours(name, generated_ttbar_qcd):
    events = open_nanoaod(generated_ttbar_qcd[0], "eager", quiet=True)
    ours = get_registry().get(name).features(events)
    assert ours.size > 0
    np.testing.assert_allclose(_rows(name, events, ours.ndim), ours, rtol=1e-6, atol=1e-6)


def test_they_run_on_dask_awkward_events_as_tf_wrapper_needs(generated_ttbar_qcd):
    path = generated_ttbar_qcd[0]
    eager = open_nanoaod(path, "eager", quiet=True)
    lazy = open_nanoaod(path, "dask", quiet=True)
    # a flattened row, two arrays side by side, and pixels scattered into images on the numpy side
    for name, input_ndim in (("topodnn", 2), ("pfn_ddt", 2), ("deeptop_cnn", 4)):
        np.testing.assert_allclose(
            _rows(name, lazy, input_ndim, compute=True),
            _rows(name, eager, input_ndim),
            rtol=1e-6,
            atol=1e-6,
        )
