import math

import hist
import matplotlib
import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from hepml_coffea.decorrelation import (
    DecorrelationReport,
    WorkingPoint,
    decorrelation_report,
    distance_correlation,
    distance_correlation_arrays,
    inv_jsd,
    inv_jsd50,
    inv_jsd_ceiling,
    jensen_shannon,
    r50,
    rejection,
    report_markdown,
    sculpting_plot,
    select_classes,
    split_by_label,
    working_point,
)
from hepml_coffea.errors import HistogramError

matplotlib.use("Agg")

MASS_AXIS = hist.axis.Regular(60, 0.0, 300.0, name="mass", label="mass [GeV]")
SCORE_AXIS = hist.axis.Regular(40, 0.0, 1.0, name="score", label="score")
MASS_EDGES, SCORE_EDGES = MASS_AXIS.edges, SCORE_AXIS.edges


def mass_score_hist(mass, score, weight=None) -> hist.Hist:
    return hist.Hist(MASS_AXIS, SCORE_AXIS, storage=hist.storage.Weight()).fill(
        mass=mass, score=score, weight=weight
    )


def jets(rng, n, sculpted=False):
    """Signal (top-like mass, high scores) and background (falling mass) jets, with weights.

    Some masses lie above the mass axis and some scores are exactly 1.0 (overflow of the score axis).
    """
    signal_mass = rng.normal(172.0, 25.0, n)
    signal_score = np.where(rng.uniform(size=n) < 0.05, 1.0, rng.beta(5.0, 2.0, n))
    background_mass = rng.exponential(70.0, n)
    if sculpted:  # the score is (almost) a function of the mass
        background_score = np.clip(background_mass / 300.0 + rng.normal(0.0, 0.02, n), 0.0, 0.999)
    else:
        background_score = rng.beta(2.0, 3.0, n)
    weights = rng.uniform(0.5, 1.5, (2, n))
    return (signal_mass, signal_score, weights[0]), (background_mass, background_score, weights[1])


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(11)
    signal, background = jets(rng, 20_000)
    return signal, background, mass_score_hist(*signal), mass_score_hist(*background)


# Jensen-Shannon divergence


def test_jsd_limits():
    p = np.array([0.0, 1.0, 2.0, 3.0])
    assert jensen_shannon(p, 5 * p) == pytest.approx(0.0, abs=1e-15)
    disjoint = np.array([0.0, 0.0, 4.0, 1.0]), np.array([7.0, 2.0, 0.0, 0.0])
    assert jensen_shannon(*disjoint) == pytest.approx(math.log(2))
    assert jensen_shannon(*disjoint, base=2) == pytest.approx(1.0)


def test_jsd_matches_scipy():
    rng = np.random.default_rng(1)
    p, q = rng.uniform(size=30), rng.uniform(size=30)
    p[[3, 7]] = 0.0  # empty bins: 0 log 0 = 0
    q[[7, 9]] = 0.0
    # scipy returns the Jensen-Shannon *distance*, the square root of the divergence
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-12)
    assert jensen_shannon(p, q, base=2) == pytest.approx(
        jensenshannon(p, q, base=2) ** 2, rel=1e-12
    )
    assert jensen_shannon(p, q) == pytest.approx(
        jensen_shannon(p, q, base=2) * math.log(2), rel=1e-12
    )


def test_jsd_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        jensen_shannon([1.0, -0.5], [1.0, 1.0])
    with pytest.raises(ValueError, match="empty"):
        jensen_shannon([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="numbers of bins"):
        jensen_shannon([1.0, 1.0], [1.0, 1.0, 1.0])


# Working point, R50 and 1/JSD50 against the unbinned jets


def test_working_point_is_the_nearest_edge_on_raw_scores(samples):
    (
        (_, signal_score, signal_weight),
        (_, background_score, background_weight),
        signal,
        background,
    ) = samples
    for target in (1.0, 0.7, 0.5, 0.3, 0.1, 0.0):
        point = working_point(signal, background, target)
        assert point.threshold in SCORE_EDGES
        # signal efficiency of every possible cut, counted on the jets themselves
        raw = (
            np.array([signal_weight[signal_score >= edge].sum() for edge in SCORE_EDGES])
            / signal_weight.sum()
        )
        assert point.threshold == SCORE_EDGES[np.argmin(np.abs(raw - target))]
        assert point.signal_efficiency == pytest.approx(
            signal_weight[signal_score >= point.threshold].sum() / signal_weight.sum(), rel=1e-12
        )
        passing = background_weight[background_score >= point.threshold].sum()
        assert point.background_efficiency == pytest.approx(
            passing / background_weight.sum(), rel=1e-12
        )
    # the 5% of signal scores at exactly 1.0 sit in the overflow and pass the tightest cut
    assert working_point(signal, background, 0.0).signal_efficiency == pytest.approx(0.05, abs=0.01)
    assert working_point(signal, background, 0.5).signal_efficiency == pytest.approx(0.5, abs=0.03)


def test_r50_and_inv_jsd50_equal_the_unbinned_computation(samples):
    (_, _, _), (background_mass, background_score, background_weight), signal, background = samples
    threshold = working_point(signal, background, 0.5).threshold
    passes = background_score >= threshold
    eps_b = background_weight[passes].sum() / background_weight.sum()
    assert r50(signal, background) == pytest.approx(1 / eps_b, rel=1e-12)
    assert rejection(signal, background, 0.5) == r50(signal, background)
    # masses above 300 GeV fall outside the shapes, as they do in np.histogram
    passing, _ = np.histogram(
        background_mass[passes], MASS_EDGES, weights=background_weight[passes]
    )
    failing, _ = np.histogram(
        background_mass[~passes], MASS_EDGES, weights=background_weight[~passes]
    )
    assert inv_jsd50(signal, background) == pytest.approx(
        1 / jensen_shannon(passing, failing), rel=1e-12
    )
    assert inv_jsd(signal, background, 0.5) == inv_jsd50(signal, background)
    assert 1 < r50(signal, background) < 100


def test_axis_order_and_storage_do_not_matter(samples):
    (signal_mass, signal_score, signal_weight), _, signal, background = samples
    swapped = hist.Hist(
        hist.axis.Regular(40, 0.0, 1.0, name="score"),
        hist.axis.Regular(60, 0.0, 300.0, name="mass"),
    )
    swapped.fill(score=signal_score, mass=signal_mass, weight=signal_weight)
    assert working_point(swapped, background, 0.3) == working_point(signal, background, 0.3)
    assert inv_jsd(swapped, background, 0.3) == inv_jsd(signal, background, 0.3)


def test_extremes_of_the_cut():
    signal = mass_score_hist([100.0, 120.0], [0.96, 0.99])
    background = mass_score_hist([50.0, 80.0, 90.0], [0.1, 0.2, 0.3])
    assert r50(signal, background) == math.inf  # no background passes
    assert math.isnan(inv_jsd50(signal, background))  # no passing shape to compare
    assert working_point(signal, background, 1.0).background_efficiency == 1.0
    # eps_S is 1 up to the edge 0.1 and 0.5 from 0.125 to 0.9: for 0.75 both are equally near,
    # and the lowest threshold (higher efficiency) wins
    two = mass_score_hist([100.0, 120.0], [0.11, 0.91])
    assert working_point(two, background, 0.75) == WorkingPoint(0.0, 1.0, 1.0)
    assert working_point(two, background, 0.6) == WorkingPoint(0.125, 0.5, 2 / 3)


def test_bad_histograms_are_refused(samples):
    *_, signal, background = samples
    three_axes = hist.Hist(
        hist.axis.StrCategory(["a"], name="dataset"),
        hist.axis.Regular(3, 0, 3, name="mass"),
        hist.axis.Regular(2, 0, 1, name="score"),
    )
    with pytest.raises(
        ValueError, match=r"exactly the axes 'mass' and 'score', got \('dataset', 'mass', 'score'\)"
    ):
        r50(three_axes, background)
    other_binning = hist.Hist(
        hist.axis.Regular(60, 0.0, 300.0, name="mass"),
        hist.axis.Regular(20, 0.0, 1.0, name="score"),
    )
    with pytest.raises(ValueError, match="same score binning"):
        r50(other_binning, background)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        working_point(signal, background, 1.5)
    from hist.dask import Hist as DaskHist

    with pytest.raises(HistogramError, match="compute"):
        r50(DaskHist(MASS_AXIS, SCORE_AXIS), background)


# Distance correlation


def test_weighted_distance_correlation_on_arrays():
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    assert distance_correlation_arrays(x, 3 * x + 2) == pytest.approx(1.0)
    assert distance_correlation_arrays(x, -0.5 * x) == pytest.approx(1.0)
    y = x**2 + rng.normal(0, 0.3, size=300)  # dependent, yet nearly uncorrelated linearly
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.2 < distance_correlation_arrays(x, y)
    counts = rng.integers(1, 4, size=300)
    # integer weights are repeated entries; the weights' scale does not matter
    repeated = distance_correlation_arrays(np.repeat(x, counts), np.repeat(y, counts))
    assert distance_correlation_arrays(x, y, counts) == pytest.approx(repeated, rel=1e-10)
    assert distance_correlation_arrays(x, y, 0.01 * counts) == pytest.approx(repeated, rel=1e-10)
    assert (
        distance_correlation_arrays(x, np.full(300, 0.5)) == 0.0
    )  # constant: dCor = 0 by convention
    assert distance_correlation_arrays(x, rng.normal(size=300)) < 0.05


def test_hist_distance_correlation_equals_the_array_one_on_bin_centres():
    rng = np.random.default_rng(3)
    mass_centres, score_centres = (
        (MASS_EDGES[1:] + MASS_EDGES[:-1]) / 2,
        (SCORE_EDGES[1:] + SCORE_EDGES[:-1]) / 2,
    )
    mass_bin = rng.integers(0, 60, 2000)
    score_bin = np.clip(mass_bin * 40 // 60 + rng.integers(-8, 9, 2000), 0, 39)  # dependent
    mass, score = mass_centres[mass_bin], score_centres[score_bin]
    weights = rng.uniform(0.1, 2.0, 2000)
    h = mass_score_hist(mass, score, weights)
    h.fill(mass=[350.0], score=[0.5])  # flow bins have no centre and are left out
    expected = distance_correlation_arrays(mass, score, weights)
    assert distance_correlation(h) == pytest.approx(expected, rel=1e-9)
    assert 0.3 < expected < 1


def test_independent_background_is_not_sculpted_and_sculpted_one_is():
    rng = np.random.default_rng(4)
    independent = [mass_score_hist(*sample) for sample in jets(rng, 40_000)]
    sculpted = [mass_score_hist(*sample) for sample in jets(rng, 40_000, sculpted=True)]
    assert distance_correlation(independent[1]) < 0.005
    assert distance_correlation(sculpted[1]) > 0.5
    assert inv_jsd50(*independent) > 100
    assert inv_jsd50(*sculpted) < 5


# The finite-statistics ceiling on 1/JSD


def test_ceiling_matches_the_small_fluctuation_closed_form():
    """Two independent samples of n1 and n2 jets from one k-bin shape: E[JSD] ~ (k - 1)/8 (1/n1 + 1/n2)."""
    bins, jets_per_bin, efficiency = 10, 10_000, 0.1
    mass = np.repeat(np.linspace(5.0, 95.0, bins), jets_per_bin)
    background = hist.Hist(
        hist.axis.Regular(bins, 0.0, 100.0, name="mass"), hist.axis.Regular(4, 0, 1, name="score")
    )
    background.fill(mass=mass, score=np.full(mass.size, 0.5))
    n_pass = efficiency * mass.size
    expected_jsd = (bins - 1) / 8 * (1 / n_pass + 1 / (mass.size - n_pass))
    assert inv_jsd_ceiling(background, efficiency) == pytest.approx(1 / expected_jsd, rel=0.1)
    # four times the jets, four times the ceiling
    quadrupled = background * 4
    assert inv_jsd_ceiling(quadrupled, efficiency) / inv_jsd_ceiling(
        background, efficiency
    ) == pytest.approx(4, rel=0.15)


def test_a_mass_independent_cut_measures_about_the_ceiling():
    """The ceiling is where 1/JSD50 of a tagger that knows nothing of the mass lands."""
    rng = np.random.default_rng(8)
    measured, ceilings = [], []
    for _ in range(20):
        signal, background = (mass_score_hist(*sample) for sample in jets(rng, 5_000))
        measured.append(1 / inv_jsd50(signal, background))
        ceilings.append(inv_jsd_ceiling(background, 1 / r50(signal, background)))
    assert 1 / np.mean(measured) == pytest.approx(np.mean(ceilings), rel=0.2)


def test_ceiling_uses_effective_entries_of_weighted_histograms(samples):
    *_, background = samples
    mass, score = np.repeat(background.axes["mass"].centers, 100), np.full(6_000, 0.5)
    unweighted = hist.Hist(MASS_AXIS, SCORE_AXIS, storage=hist.storage.Weight()).fill(
        mass=mass, score=score
    )
    doubled = hist.Hist(MASS_AXIS, SCORE_AXIS, storage=hist.storage.Weight()).fill(
        mass=mass, score=score, weight=2.0
    )
    assert inv_jsd_ceiling(doubled, 0.2) == inv_jsd_ceiling(unweighted, 0.2)
    counted = hist.Hist(MASS_AXIS, SCORE_AXIS).fill(mass=mass, score=score)
    assert inv_jsd_ceiling(counted, 0.2) == inv_jsd_ceiling(unweighted, 0.2)


def test_ceiling_refuses_bad_input(samples):
    *_, background = samples
    for efficiency in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            inv_jsd_ceiling(background, efficiency)
    with pytest.raises(ValueError, match="no entries in its mass range"):
        inv_jsd_ceiling(hist.Hist(MASS_AXIS, SCORE_AXIS), 0.5)


# Histograms with a truth-label axis, plots and the report


def test_split_by_label(samples):
    (signal_mass, signal_score, _), (background_mass, background_score, _), *_ = samples
    h = hist.Hist(
        hist.axis.StrCategory([], growth=True, name="dataset"),
        hist.axis.IntCategory([0, 1, 2], name="label"),
        hist.axis.Regular(60, 0.0, 300.0, name="mass"),
        hist.axis.Regular(40, 0.0, 1.0, name="score"),
    )
    half = len(signal_mass) // 2
    h.fill(dataset="ttbar", label=1, mass=signal_mass[:half], score=signal_score[:half])
    h.fill(dataset="zprime", label=1, mass=signal_mass[half:], score=signal_score[half:])
    h.fill(dataset="qcd", label=0, mass=background_mass, score=background_score)
    h.fill(dataset="qcd", label=2, mass=[10.0], score=[0.1])
    signal, background = split_by_label(h)
    assert tuple(signal.axes.name) == ("mass", "score")
    np.testing.assert_array_equal(
        signal.values(flow=True), mass_score_hist(signal_mass, signal_score).values(flow=True)
    )
    assert background.sum(flow=True) == len(background_mass)
    _, both = split_by_label(h, background=[0, 2])
    assert both.sum(flow=True) == len(background_mass) + 1
    with pytest.raises(
        ValueError, match=r"label\(s\) \[7\] not on axis .label., which holds \[0, 1, 2\]"
    ):
        split_by_label(h, signal=7)
    with pytest.raises(ValueError, match="no axis named 'truth'"):
        split_by_label(h, label_axis="truth")


def test_signal_and_background_must_be_different_jets(samples):
    (mass, score, _), *_ = samples
    h = hist.Hist(
        hist.axis.StrCategory(["qcd"], name="dataset"),
        hist.axis.IntCategory([0, 1], name="label"),
        MASS_AXIS,
        SCORE_AXIS,
    )
    h.fill(dataset="qcd", label=0, mass=mass, score=score)
    with pytest.raises(HistogramError, match=r"same jets \(label 0\)"):
        select_classes(h, signal_label=0, background_label=0)
    with pytest.raises(HistogramError, match=r"same jets \(dataset 'qcd'\)"):
        select_classes(h[{"label": sum}], signal_dataset="qcd", background_dataset="qcd")
    signal, background = select_classes(h, signal_dataset="qcd", background_dataset="qcd")
    assert signal.sum(flow=True) == 0 and background.sum(flow=True) == len(mass)


def test_sculpting_plot_draws_one_normalised_shape_per_cut(samples):
    from matplotlib.figure import Figure
    from matplotlib.patches import StepPatch

    *_, signal, background = samples
    ax = sculpting_plot(signal, background, (1.0, 0.5, 0.3), ax=Figure().subplots())
    shapes = [patch for patch in ax.patches if isinstance(patch, StepPatch)]
    assert len(shapes) == 3
    assert len(ax.get_legend().get_texts()) == 3
    for shape in shapes:
        values, edges, _ = shape.get_data()
        assert np.sum(values * np.diff(edges)) == pytest.approx(1.0)


def test_report_table_and_files(samples, tmp_path):
    *_, signal, background = samples
    sculpted = [
        mass_score_hist(*sample) for sample in jets(np.random.default_rng(5), 5_000, sculpted=True)
    ]
    reports = decorrelation_report(
        {"dnn": (signal, background), "mass-like tagger": tuple(sculpted)}, tmp_path / "out"
    )
    assert [report.score for report in reports] == ["dnn", "mass-like tagger"]
    dnn = reports[0]
    assert isinstance(dnn, DecorrelationReport)
    assert dnn.r50 == r50(signal, background) and dnn.inv_jsd50 == inv_jsd50(signal, background)
    assert dnn.dcor2 == distance_correlation(background)
    assert dnn.n_background == pytest.approx(background.sum(flow=True).value)
    assert dnn.inv_jsd50_ceiling == inv_jsd_ceiling(background, 1 / dnn.r50)
    assert (
        dnn.inv_jsd50 < 2 * dnn.inv_jsd50_ceiling
        and reports[1].inv_jsd50 < 0.1 * reports[1].inv_jsd50_ceiling
    )
    assert reports[1].inv_jsd50 < dnn.inv_jsd50 and reports[1].dcor2 > dnn.dcor2
    table = report_markdown(reports)
    assert table.count("\n") == 4 and "| mass-like tagger |" in table
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == [
        "decorrelation.md",
        "r50_vs_inv_jsd50.png",
        "sculpting_dnn.png",
        "sculpting_mass-like_tagger.png",
    ]
    assert (tmp_path / "out" / "decorrelation.md").read_text() == table
