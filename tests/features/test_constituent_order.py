"""The constituent order every feature builder relies on: grouped by jet, hardest first, ties
in their stored order, exactly as ``np.lexsort((-pt, jet))``."""

import numpy as np
import pytest

from hepml_coffea.features.constituents import by_jet_then_decreasing_pt


@pytest.mark.parametrize("seed", [0, 1])
def test_the_keyed_sort_is_the_lexsort_ties_included(seed):
    rng = np.random.default_rng(seed)
    jet = rng.integers(0, 3000, 100_000)
    # float32 values as read from NanoAOD, with many exact ties and zeros
    pt = np.round(rng.exponential(5.0, len(jet)), 1).astype(np.float32).astype(np.float64)
    order = by_jet_then_decreasing_pt(jet, pt)
    np.testing.assert_array_equal(order, np.lexsort((-pt, jet)))
    assert (np.diff(jet[order]) >= 0).all()


@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_negative_or_nan_pt_takes_the_lexsort(bad):
    jet = np.array([1, 0, 0, 1, 0])
    pt = np.array([3.0, bad, 2.0, 5.0, 7.0])
    np.testing.assert_array_equal(by_jet_then_decreasing_pt(jet, pt), np.lexsort((-pt, jet)))
