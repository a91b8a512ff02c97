"""Figures of merit of unbinned scores, through the same histograms an analysis fills."""

import numpy as np
import pytest

from hepml_coffea.decorrelation import (
    bootstrap_std,
    ceiling_curve,
    inv_jsd,
    inv_jsd_ceiling,
    mass_score_hists,
    measure,
    r50,
    r50_inv_jsd50,
    rejection,
    resampled_rows,
    top_window_excess,
    working_points,
)
from hepml_coffea.decorrelation.histograms import STUDY_MASS_BINS, STUDY_SCORE_BINS


@pytest.fixture(scope="module")
def tagged():
    """Signal at the top mass with high scores, falling QCD mass; ``sculpted`` QCD scores rise with the mass."""
    rng = np.random.default_rng(5)
    n = 100_000
    labels = (rng.random(n) < 0.3).astype(np.int8)
    mass = np.where(labels == 1, rng.normal(172.0, 20.0, n), rng.gamma(2.0, 35.0, n))
    noise = rng.normal(0.0, 1.0, n)
    plain = 1.0 / (1.0 + np.exp(-(2.0 * labels - 1.0 + noise)))
    sculpted = 1.0 / (
        1.0 + np.exp(-(2.0 * labels - 1.0 + noise + np.where(labels == 0, mass / 30.0, 0.0)))
    )
    return labels, mass, plain, sculpted


def test_hists_bin_like_the_studies_processor_runs(tagged):
    labels, mass, plain, _ = tagged
    signal, background = mass_score_hists(plain, labels, mass)
    for h in (signal, background):
        assert (
            len(h.axes["mass"]),
            h.axes["mass"].edges[0],
            h.axes["mass"].edges[-1],
        ) == STUDY_MASS_BINS
        assert len(h.axes["score"]) == STUDY_SCORE_BINS
    assert (
        signal.sum(flow=True) == (labels == 1).sum()
        and background.sum(flow=True) == (labels == 0).sum()
    )
    expected, _, _ = np.histogram2d(
        mass[labels == 0],
        plain[labels == 0],
        bins=[background.axes["mass"].edges, background.axes["score"].edges],
    )
    np.testing.assert_array_equal(background.values(), expected)


def test_r50_is_the_unbinned_rejection_at_half_the_signal(tagged):
    labels, mass, plain, _ = tagged
    rejection_50, _ = r50_inv_jsd50(plain, labels, mass)
    cut = np.quantile(plain[labels == 1], 0.5)
    assert rejection_50 == pytest.approx(1.0 / (plain[labels == 0] >= cut).mean(), rel=0.02)


def test_a_sculpting_score_has_the_smaller_inv_jsd50(tagged):
    labels, mass, plain, sculpted = tagged
    assert r50_inv_jsd50(sculpted, labels, mass)[1] < 0.6 * r50_inv_jsd50(plain, labels, mass)[1]


def test_measure_adds_the_ceiling_at_the_measured_r50(tagged):
    labels, mass, plain, _ = tagged
    point = measure(plain, labels, mass)
    signal, background = mass_score_hists(plain, labels, mass)
    assert point == {
        "r50": r50(signal, background),
        "inv_jsd50": r50_inv_jsd50(plain, labels, mass)[1],
        "inv_jsd50_ceiling": inv_jsd_ceiling(background, 1.0 / r50(signal, background)),
    }


def test_ceiling_curve_spans_the_target_plane_and_falls_with_rejection(tagged):
    labels, mass, plain, _ = tagged
    curve = ceiling_curve(plain, labels, mass, plain_r50=40.0)
    assert len(curve["r50"]) == len(curve["inv_jsd50"]) == 25
    assert curve["r50"][0] == pytest.approx(5.0) and curve["r50"][-1] == pytest.approx(80.0)
    background = mass_score_hists(plain, labels, mass)[1]
    assert curve["inv_jsd50"][3] == inv_jsd_ceiling(background, 1.0 / curve["r50"][3])
    assert curve["inv_jsd50"][0] > 2 * curve["inv_jsd50"][-1]  # fewer passing jets resolve less


def test_working_points_at_each_efficiency(tagged):
    labels, mass, plain, _ = tagged
    points = working_points(plain, labels, mass, (0.3, 0.7))
    signal, background = mass_score_hists(plain, labels, mass)
    assert points == {
        "0.3": {
            "rejection": rejection(signal, background, 0.3),
            "inv_jsd": inv_jsd(signal, background, 0.3),
        },
        "0.7": {
            "rejection": rejection(signal, background, 0.7),
            "inv_jsd": inv_jsd(signal, background, 0.7),
        },
    }
    assert points["0.3"]["rejection"] > points["0.7"]["rejection"]


def test_top_window_excess_sees_the_fake_peak_only_of_a_sculpting_score(tagged):
    labels, mass, plain, sculpted = tagged
    assert top_window_excess(plain, labels, mass, (160.0, 190.0)) == pytest.approx(1.0, abs=0.25)
    assert top_window_excess(sculpted, labels, mass, (160.0, 190.0)) > 1.5


def test_resampled_rows_draw_with_replacement_reproducibly():
    first = list(resampled_rows(50, 3, np.random.default_rng(1)))
    again = list(resampled_rows(50, 3, np.random.default_rng(1)))
    assert len(first) == 3 and all(np.array_equal(a, b) for a, b in zip(first, again, strict=False))
    assert all(rows.shape == (50,) and rows.min() >= 0 and rows.max() < 50 for rows in first)
    assert any(len(np.unique(rows)) < 50 for rows in first)


def test_bootstrap_spreads(tagged):
    labels, mass, plain, sculpted = tagged
    spread = bootstrap_std(plain, sculpted, labels, mass, resamplings=4)
    assert set(spread) == {"r50", "inv_jsd50", "target_fraction"}
    assert all(value > 0 for value in spread.values())
    assert bootstrap_std(plain, sculpted, labels, mass, resamplings=4) == spread  # seeded
    # a tagger against itself sits at 1/JSD50 = plain: its target fraction never moves
    assert bootstrap_std(plain, plain, labels, mass, resamplings=3)[
        "target_fraction"
    ] == pytest.approx(0.0, abs=1e-12)
