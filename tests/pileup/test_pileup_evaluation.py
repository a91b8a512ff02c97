"""evaluate-pileup's statistics: residual summaries and the top soft-drop-mass peak."""

from __future__ import annotations

import numpy as np

from hepml_coffea.pileup.performance import METHODS, summarise, top_peak, top_table


def test_summary_is_median_and_half_the_16_84_width():
    rng = np.random.default_rng(0)
    truth = rng.uniform(50, 150, 20000)
    s = summarise(truth + 3 + rng.normal(0, 5, len(truth)), truth)
    assert abs(s.bias - 3) < 0.2 and abs(s.resolution - 5) < 0.2 and s.n_jets == len(truth)


def test_top_peak_finds_the_peak_not_the_tail():
    rng = np.random.default_rng(1)
    peak = rng.normal(175, 10, 600)
    tail = rng.uniform(0, 300, 400)  # QCD-like continuum and W-only jets
    assert abs(top_peak(np.concatenate([peak, tail])) - 175) < 3
    assert np.isnan(top_peak(np.array([10.0, 20.0])))


def test_top_table_gives_the_shift_from_the_pileup_free_peak():
    peaks = {60.0: {m: (180.0, 90) for m in ("hard", *METHODS)}}
    peaks[60.0]["none"] = (230.0, 90)
    table = top_table(peaks, ((60.0, 800),), METHODS)
    assert "| 60 | 90 | 180.0 | 230.0 (+50.0) |" in table
    assert "pumml" in table.splitlines()[0]
