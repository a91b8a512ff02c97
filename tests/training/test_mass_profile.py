"""Mass-dependent working points: the fitted profile trades rejection for decorrelation as designed."""

import dataclasses

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea import get_registry, runtime
from hepml_coffea.artifacts import read_card
from hepml_coffea.decorrelation import jensen_shannon
from hepml_coffea.errors import ArtifactError, ConfigurationError, LabelledDataError
from hepml_coffea.pipeline import run_plugin
from hepml_coffea.training.mass_profile import (
    DEFAULT_MASS_EDGES,
    ddt_offsets,
    ddt_shifted_scores,
    fit_mass_profile,
    logit,
    write_mass_profile_artifact,
)

MASS_EDGES = np.linspace(0.0, 300.0, 61)


@pytest.fixture(scope="module")
def sculpting_tagger():
    """A toy top tagger that learned the mass: QCD scores rise towards the top mass.

    QCD masses fall off like a jet-mass spectrum; signal sits at 172 GeV. The score's logit is
    Gaussian, shifted up for QCD jets near the top mass and for all signal jets.
    """
    rng = np.random.default_rng(7)
    n = 200_000
    background_mass = rng.gamma(2.0, 35.0, n)
    signal_mass = rng.normal(172.0, 18.0, n // 2)
    background_logit = rng.normal(
        -3.0 + 2.0 * np.exp(-0.5 * ((background_mass - 172.0) / 30.0) ** 2), 1.0
    )
    signal_logit = rng.normal(1.0, 1.0, n // 2)
    scores = 1.0 / (1.0 + np.exp(-np.concatenate([signal_logit, background_logit])))
    labels = np.concatenate([np.ones(n // 2, np.int8), np.zeros(n, np.int8)])
    mass = np.concatenate([signal_mass, background_mass])
    return scores, labels, mass


def _cut_at_half_signal(scores, labels, mass):
    """(signal efficiency, QCD efficiency, JSD of passing against failing QCD mass) of scores > 0.5."""
    passing = scores > 0.5
    background = labels == 0
    histogram = lambda rows: np.histogram(mass[rows], MASS_EDGES)[0]  # noqa: E731
    divergence = jensen_shannon(histogram(background & passing), histogram(background & ~passing))
    return passing[labels == 1].mean(), passing[background].mean(), divergence


def _plain_at_half_signal(scores, labels, mass):
    cut = np.quantile(scores[labels == 1], 0.5)
    return _cut_at_half_signal(1.0 / (1.0 + np.exp(-(logit(scores) - logit(cut)))), labels, mass)


@pytest.mark.parametrize("efficiency", [0.3, 0.5, 0.7])
def test_the_shifted_score_cut_at_one_half_reaches_the_signal_efficiency(
    sculpting_tagger, efficiency
):
    scores, labels, mass = sculpting_tagger
    profile = fit_mass_profile(scores, labels, mass, strength=1.0, signal_efficiency=efficiency)
    shifted = profile.shifted_scores(scores, mass)
    assert (shifted[labels == 1] > 0.5).mean() == pytest.approx(efficiency, abs=0.01)
    assert (shifted[labels == 0] > 0.5).mean() == pytest.approx(
        profile.background_efficiency, rel=0.02
    )


def test_without_decorrelation_the_profile_beats_the_plain_cut(sculpting_tagger):
    """strength 0 may use the mass freely; the plain cut is one of its options, so it does no worse."""
    scores, labels, mass = sculpting_tagger
    _, plain_background, plain_jsd = _plain_at_half_signal(scores, labels, mass)
    profile = fit_mass_profile(scores, labels, mass, strength=0.0)
    signal, background, _ = _cut_at_half_signal(profile.shifted_scores(scores, mass), labels, mass)
    assert signal == pytest.approx(0.5, abs=0.01)
    assert background < plain_background
    assert plain_jsd > 0.05, "the toy tagger must sculpt for the next tests to mean anything"


def test_strength_trades_rejection_for_decorrelation(sculpting_tagger):
    scores, labels, mass = sculpting_tagger
    _, plain_background, plain_jsd = _plain_at_half_signal(scores, labels, mass)
    cuts = [
        _cut_at_half_signal(
            fit_mass_profile(scores, labels, mass, strength=s).shifted_scores(scores, mass),
            labels,
            mass,
        )
        for s in (0.3, 3.0, 30.0)
    ]
    backgrounds, divergences = [c[1] for c in cuts], [c[2] for c in cuts]
    assert backgrounds == sorted(backgrounds), "a stronger decorrelation must cost rejection"
    assert divergences == sorted(divergences, reverse=True), (
        "a stronger decorrelation must sculpt less"
    )
    assert divergences[-1] < plain_jsd / 20


def test_a_strong_profile_sculpts_no_more_than_statistics_allow(sculpting_tagger):
    """At a large strength the passing QCD jets differ from the failing ones only by fluctuations:
    the JSD of a cut that ignores the mass is (k - 1)/8 (1/n_pass + 1/n_fail) for k bins."""
    scores, labels, mass = sculpting_tagger
    profile = fit_mass_profile(scores, labels, mass, strength=1000.0)
    _, background_efficiency, divergence = _cut_at_half_signal(
        profile.shifted_scores(scores, mass), labels, mass
    )
    n_background = (labels == 0).sum()
    filled = np.count_nonzero(np.histogram(mass[labels == 0], MASS_EDGES)[0])
    floor = (
        (filled - 1)
        / 8
        * (
            1 / (background_efficiency * n_background)
            + 1 / ((1 - background_efficiency) * n_background)
        )
    )
    assert divergence < 2 * floor
    assert background_efficiency == pytest.approx(profile.background_efficiency)
    assert len(profile.centres) == 30, "every bin of the toy holds enough QCD jets for a threshold"
    passing = profile.shifted_scores(scores, mass)[labels == 0] > 0.5
    in_bins = np.clip(np.digitize(mass[labels == 0], np.linspace(0, 300, 31)) - 1, 0, 29)
    np.testing.assert_allclose(
        profile.background_efficiencies, np.bincount(in_bins, passing, 30) / np.bincount(in_bins)
    )


def test_thresholds_interpolate_linearly_and_stay_constant_beyond_the_centres(sculpting_tagger):
    profile = fit_mass_profile(*sculpting_tagger, strength=1.0)
    centres, thresholds = np.array(profile.centres), np.array(profile.thresholds)
    assert np.allclose(profile.threshold(centres), thresholds)
    assert profile.threshold(np.array([-5.0, 1e4])).tolist() == [thresholds[0], thresholds[-1]]
    middle = 0.5 * (centres[3] + centres[4])
    assert profile.threshold(np.array([middle]))[0] == pytest.approx(
        0.5 * (thresholds[3] + thresholds[4])
    )
    scores = 1.0 / (1.0 + np.exp(-thresholds))
    assert np.allclose(profile.shifted_scores(scores, centres), 0.5)


def test_bad_requests_are_refused(sculpting_tagger):
    scores, labels, mass = sculpting_tagger
    with pytest.raises(ConfigurationError, match="strength must be >= 0"):
        fit_mass_profile(scores, labels, mass, strength=-1.0)
    with pytest.raises(ConfigurationError, match=r"signal efficiency must lie in \(0, 1\)"):
        fit_mass_profile(scores, labels, mass, strength=1.0, signal_efficiency=1.0)
    with pytest.raises(LabelledDataError, match="needs both signal"):
        fit_mass_profile(scores[labels == 0], labels[labels == 0], mass[labels == 0], strength=1.0)
    with pytest.raises(LabelledDataError, match="more background jets or with wider mass bins"):
        fit_mass_profile(scores[:100_100], labels[:100_100], mass[:100_100], strength=1.0)


def test_artifact_applies_the_profile_to_the_base_network_on_real_events(
    sculpting_tagger, tmp_path
):
    """pfn_ddt with a profile on the shipped pfn equals pfn's score shifted in numpy, on CMS PFNano."""
    registry = get_registry()
    base, plugin = registry.get("pfn"), registry.get("pfn_ddt")
    profile = fit_mass_profile(*sculpting_tagger, strength=1.0)
    write_mass_profile_artifact(
        plugin, base, profile, tmp_path / "pfn_ddt", provenance={"purpose": "test"}
    )
    card = read_card(tmp_path / "pfn_ddt", plugin.name)
    assert card.provenance["mass_profile"]["thresholds"] == list(profile.thresholds)
    assert card.provenance["base"]["sha256"] == runtime.get_model(base).card.sha256

    events = open_events("pfnano")
    shifted = run_plugin(dataclasses.replace(plugin, artifact=tmp_path / "pfn_ddt"), events)["top"]
    plain = run_plugin(base, events)["top"]
    msoftdrop = ak.to_numpy(ak.flatten(events.FatJet.msoftdrop))
    assert len(shifted) == len(plain) > 10
    np.testing.assert_allclose(
        shifted, profile.shifted_scores(plain, msoftdrop), rtol=1e-4, atol=1e-5
    )
    assert np.abs(shifted - plain).max() > 0.01, (
        "the profile must change the scores for the test to mean anything"
    )


def test_artifact_refuses_bases_it_cannot_put_a_profile_on(sculpting_tagger, dnn_plugin, tmp_path):
    registry = get_registry()
    profile = fit_mass_profile(*sculpting_tagger, strength=1.0)
    with pytest.raises(ArtifactError, match="standardises its inputs"):
        write_mass_profile_artifact(registry.get("pfn_ddt"), dnn_plugin, profile, tmp_path / "ddt")
    # pfn_md reads the cloud without the mass: it has nowhere to take the mass from
    with pytest.raises(
        ArtifactError, match=r"needs its 750 inputs flattened and the jet mass after them \(751\)"
    ):
        write_mass_profile_artifact(
            registry.get("pfn_md"), registry.get("pfn"), profile, tmp_path / "md"
        )


def _qcd_efficiency_per_bin(scores, labels, mass, cut):
    background = labels == 0
    bins = np.digitize(mass[background], DEFAULT_MASS_EDGES) - 1
    passing = scores[background] >= cut
    return np.array(
        [
            passing[bins == k].mean()
            for k in range(len(DEFAULT_MASS_EDGES) - 1)
            if (bins == k).sum() >= 2000
        ]
    )


def test_a_full_ddt_flattens_the_qcd_efficiency_across_mass_bins(sculpting_tagger):
    scores, labels, mass = sculpting_tagger
    cut = np.quantile(scores[labels == 1], 0.5)
    plain = _qcd_efficiency_per_bin(scores, labels, mass, cut)
    offsets = ddt_offsets(scores, labels, mass)
    flat = _qcd_efficiency_per_bin(
        ddt_shifted_scores(scores, mass, offsets, 1.0), labels, mass, cut
    )
    assert plain.max() > 5 * plain.min(), "the toy tagger must sculpt for the test to mean anything"
    assert flat.max() / flat.min() < 1.5
    assert flat.mean() == pytest.approx((scores[labels == 0] >= cut).mean(), rel=0.1)


def test_a_partial_ddt_lies_between_the_plain_and_the_flat_cut(sculpting_tagger):
    scores, labels, mass = sculpting_tagger
    offsets = ddt_offsets(scores, labels, mass)
    np.testing.assert_allclose(
        ddt_shifted_scores(scores, mass, offsets, 0.0), np.clip(scores, 1e-7, 1 - 1e-7), rtol=1e-9
    )
    cut = np.quantile(scores[labels == 1], 0.5)
    spread = [
        np.ptp(
            _qcd_efficiency_per_bin(ddt_shifted_scores(scores, mass, offsets, a), labels, mass, cut)
        )
        for a in (0.0, 0.5, 1.0)
    ]
    assert spread[0] > spread[1] > spread[2]


def test_ddt_bins_with_few_qcd_jets_keep_the_global_cut(sculpting_tagger):
    scores, labels, mass = sculpting_tagger
    offsets = ddt_offsets(scores, labels, mass, min_background=10_000)
    counts = np.histogram(mass[labels == 0], DEFAULT_MASS_EDGES)[0]
    assert (offsets[counts < 10_000] == 0).all() and (offsets[counts >= 10_000] != 0).all()
    assert len(offsets) == len(DEFAULT_MASS_EDGES) - 1
