"""Mass-dependent working points: a designed decorrelated tagger with an optimised profile.

DDT (Dolen et al., arXiv:1603.00027) cuts a tagger at a different threshold in every jet-mass
bin so that the QCD efficiency is the same in all of them: the passing QCD jets then have the
mass distribution of all QCD jets, but a tagger that learned the top mass loses most of its
rejection. Between that and the plain cut lies a family of mass profiles. This module picks,
per mass bin k, the QCD efficiency e_k that maximises

    signal efficiency  -  strength * JSD(passing QCD mass, all QCD mass)

at a given overall signal efficiency, with the JSD in its small-difference (chi-square) form
JSD ~ 1/8 sum_k f_k (e_k / eps_B - 1)^2, where f_k is bin k's share of the QCD jets and eps_B
their overall efficiency. The objective separates into one choice per bin, made on the
empirical per-bin curve of signal efficiency against QCD efficiency; a Lagrange multiplier on
the QCD efficiency is set by bisection so the signal efficiency hits its target. strength = 0
is the cut that uses the mass as well as it can (no decorrelation); large strengths approach
the flat DDT.

The result is a :class:`MassProfile`: a logit threshold at every mass-bin centre, linear in
between. The decorrelated score is ``sigmoid(logit(score) - threshold(mass))``, so cutting it
at 0.5 applies the fitted profile; :func:`hepml_coffea.layers.MassDependentShift` is the same
map as a Keras layer, which is how an artifact ships it (:func:`write_mass_profile_artifact`).
Fit the profile on jets the tagger was not trained on: its scores on its own training jets
are better separated than on new ones, and the thresholds would inherit that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepml_coffea.artifacts import ModelCard, write_artifact
from hepml_coffea.errors import ArtifactError, ConfigurationError, LabelledDataError
from hepml_coffea.export import export_trained_artifact
from hepml_coffea.plugin import Plugin

#: 10 GeV bins over 0-300 GeV: coarse enough for a few hundred QCD jets per bin at the 50 % cut
DEFAULT_MASS_EDGES = tuple(float(edge) for edge in np.linspace(0.0, 300.0, 31))
#: bins with fewer QCD jets get no threshold of their own; their jets get the neighbours' (linear)
MIN_BACKGROUND_PER_BIN = 50
#: the per-bin QCD efficiencies the fit chooses from
EFFICIENCY_GRID = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 400)])
SCORE_CLIP = 1e-7
#: rounds of re-solving the per-bin choices with the penalty's overall QCD efficiency updated to
#: the last round's; the choices stop changing after 3-4 rounds on the zoo samples, 8 leaves margin
PENALTY_SCALE_ROUNDS = 8
#: bisection steps on the log of the multiplier over [1e-4, 1e6]: 80 halvings of 10 decades
#: leave a step far below the grid's resolution in signal efficiency
MULTIPLIER_BISECTION_STEPS = 80
MULTIPLIER_RANGE = (1e-4, 1e6)


def mass_bins(mass: np.ndarray, edges) -> np.ndarray:
    """The index of each jet's bin in ``edges`` (bins ``[e_i, e_i+1)``); jets below the first edge
    or at or above the last count in the edge bins. Shared by this module's profiles and the
    anomaly scores' QCD profile (:mod:`hepml_coffea.anomaly.profile`)."""
    edges = np.asarray(edges, np.float64)
    return np.clip(np.digitize(np.asarray(mass, np.float64), edges) - 1, 0, len(edges) - 2)


def logit(scores: np.ndarray) -> np.ndarray:
    """log(s / (1 - s)) in float64, scores clipped to [1e-7, 1 - 1e-7] (as the Keras layer does)."""
    s = np.clip(np.asarray(scores, np.float64), SCORE_CLIP, 1.0 - SCORE_CLIP)
    return np.log(s) - np.log1p(-s)


@dataclass(frozen=True)
class MassProfile:
    """Logit thresholds at mass-bin centres [GeV], fitted by :func:`fit_mass_profile`.

    :param signal_efficiency: the signal efficiency the profile was fitted at; cutting the
        shifted score at 0.5 reaches it on the fitting jets.
    :param strength: the weight of the JSD term in the fit.
    :param background_efficiency: the overall QCD efficiency of the fitted cut on the fitting jets.
    :param background_efficiencies: the QCD efficiency of the cut in each bin (the profile).
    """

    centres: tuple[float, ...]
    thresholds: tuple[float, ...]
    signal_efficiency: float
    strength: float
    background_efficiency: float
    background_efficiencies: tuple[float, ...]

    def threshold(self, mass: np.ndarray) -> np.ndarray:
        """The logit threshold at ``mass``: linear between centres, constant beyond the outer ones."""
        return np.interp(np.asarray(mass, np.float64), self.centres, self.thresholds)

    def shifted_scores(self, scores: np.ndarray, mass: np.ndarray) -> np.ndarray:
        """``sigmoid(logit(score) - threshold(mass))``: the decorrelated score, in float64."""
        return 1.0 / (1.0 + np.exp(self.threshold(mass) - logit(scores)))

    def record(self) -> dict[str, Any]:
        return asdict(self)


def _per_bin_curves(logits, labels, bins, n_bins, min_background):
    """For every populated bin: QCD logit thresholds on EFFICIENCY_GRID and the signal passing each."""
    background, signal = logits[labels == 0], logits[labels == 1]
    background_bins, signal_bins = bins[labels == 0], bins[labels == 1]
    populated, thresholds, signal_passing, background_counts = [], [], [], []
    for k in range(n_bins):
        in_bin = background[background_bins == k]
        if len(in_bin) < min_background:
            continue
        # a jet passes when its logit is above the threshold: efficiency 0 sits at the bin's maximum
        threshold = np.quantile(in_bin, 1.0 - EFFICIENCY_GRID)
        threshold[0] = in_bin.max()
        ordered = np.sort(signal[signal_bins == k])
        populated.append(k)
        thresholds.append(threshold)
        signal_passing.append(len(ordered) - np.searchsorted(ordered, threshold, side="right"))
        background_counts.append(len(in_bin))
    return (
        np.array(populated),
        np.array(thresholds),
        np.array(signal_passing),
        np.array(background_counts),
    )


def fit_mass_profile(
    scores: np.ndarray,
    labels: np.ndarray,
    mass: np.ndarray,
    *,
    strength: float,
    signal_efficiency: float = 0.5,
    mass_edges: tuple[float, ...] = DEFAULT_MASS_EDGES,
    min_background: int = MIN_BACKGROUND_PER_BIN,
) -> MassProfile:
    """Fit the mass-dependent thresholds of ``scores`` (1 signal, 0 background in ``labels``).

    See the module docstring for the objective. Jets outside ``mass_edges`` count in the edge
    bins. Raises ``ConfigurationError`` for a negative strength or a signal efficiency outside
    (0, 1), and ``LabelledDataError`` for inputs without both classes or with fewer than two
    populated mass bins.
    """
    if strength < 0:
        raise ConfigurationError(f"mass profile strength must be >= 0, got {strength}")
    if not 0.0 < signal_efficiency < 1.0:
        raise ConfigurationError(f"signal efficiency must lie in (0, 1), got {signal_efficiency}")
    labels = np.asarray(labels)
    if not ((labels == 1).any() and (labels == 0).any()):
        raise LabelledDataError(
            "fitting a mass profile needs both signal (label 1) and background (label 0) jets"
        )
    logits = logit(scores)
    edges = np.asarray(mass_edges, np.float64)
    n_bins = len(edges) - 1
    bins = mass_bins(mass, edges)
    populated, thresholds, signal_passing, background_counts = _per_bin_curves(
        logits, labels, bins, n_bins, min_background
    )
    if len(populated) < 2:
        raise LabelledDataError(
            f"only {len(populated)} mass bins hold {min_background} or more background jets; "
            "fit the profile on more background jets or with wider mass bins"
        )
    n_signal = int((labels == 1).sum())
    share = background_counts / background_counts.sum()  # f_k
    signal_gain = signal_passing / n_signal  # (bins, grid): signal efficiency contributed by bin k
    grid = EFFICIENCY_GRID[None, :]

    def solve(multiplier: float) -> tuple[np.ndarray, float]:
        """Best per-bin choices for one multiplier; the penalty's eps_B is iterated to consistency."""
        efficiency = (
            share
            @ EFFICIENCY_GRID[np.argmax(signal_gain - multiplier * share[:, None] * grid, axis=1)]
        )
        for _ in range(PENALTY_SCALE_ROUNDS):
            scale = max(efficiency, 1e-6)
            value = (
                signal_gain
                - multiplier * share[:, None] * grid
                - strength / 8.0 * share[:, None] * (grid / scale - 1.0) ** 2
            )
            choice = np.argmax(value, axis=1)
            efficiency = float(share @ EFFICIENCY_GRID[choice])
        return choice, float(signal_gain[np.arange(len(choice)), choice].sum())

    low, high = (
        MULTIPLIER_RANGE  # the signal efficiency falls as the multiplier on QCD efficiency rises
    )
    for _ in range(MULTIPLIER_BISECTION_STEPS):
        middle = np.sqrt(low * high)
        if solve(middle)[1] > signal_efficiency:
            low = middle
        else:
            high = middle
    choice, _ = solve(low)  # the largest multiplier found that still reaches the target
    centres = 0.5 * (edges[populated] + edges[populated + 1])
    chosen = thresholds[np.arange(len(choice)), choice]
    # the fit chose one threshold per bin; the profile interpolates between bin centres, which
    # moves the signal efficiency a little: one common shift puts it back on target
    margin = logits - np.interp(np.asarray(mass, np.float64), centres, chosen)
    shift = np.quantile(margin[labels == 1], 1.0 - signal_efficiency)
    chosen, passing = chosen + shift, margin > shift
    background = labels == 0
    per_bin = np.array([passing[background & (bins == k)].mean() for k in populated])
    return MassProfile(
        centres=tuple(centres.tolist()),
        thresholds=tuple(chosen.tolist()),
        signal_efficiency=float(signal_efficiency),
        strength=float(strength),
        background_efficiency=float(passing[background].mean()),
        background_efficiencies=tuple(per_bin.tolist()),
    )


def ddt_offsets(
    scores: np.ndarray,
    labels: np.ndarray,
    mass: np.ndarray,
    *,
    mass_edges: tuple[float, ...] = DEFAULT_MASS_EDGES,
    min_background: int = MIN_BACKGROUND_PER_BIN,
) -> np.ndarray:
    """The flat DDT: per mass bin, the QCD logit quantile at the 50 %-signal cut's QCD efficiency,
    minus that global cut; 0 in bins with fewer than ``min_background`` QCD jets (and for jets
    outside ``mass_edges``, which count in no bin here)."""
    logits = logit(scores)
    cut = np.quantile(logits[labels == 1], 0.5)
    background, background_mass = logits[labels == 0], mass[labels == 0]
    efficiency = np.mean(background >= cut)
    edges = np.asarray(mass_edges, np.float64)
    bins = np.digitize(background_mass, edges) - 1
    offsets = np.zeros(len(edges) - 1)
    for index in range(len(offsets)):
        in_bin = background[bins == index]
        if len(in_bin) >= min_background:
            offsets[index] = np.quantile(in_bin, 1 - efficiency) - cut
    return offsets


def ddt_shifted_scores(
    scores: np.ndarray,
    mass: np.ndarray,
    offsets: np.ndarray,
    alpha: float,
    *,
    mass_edges: tuple[float, ...] = DEFAULT_MASS_EDGES,
) -> np.ndarray:
    """``sigmoid(logit(score) - alpha * offset(mass bin))``: a partial (alpha < 1) or full DDT cut
    at the :func:`ddt_offsets`; jets outside ``mass_edges`` take the edge bins' offsets."""
    bins = np.clip(mass_bins(mass, mass_edges), 0, len(offsets) - 1)
    return 1.0 / (1.0 + np.exp(-(logit(scores) - alpha * offsets[bins])))


def base_record(base_plugin: Plugin, card: ModelCard) -> dict[str, Any]:
    """What a profile artifact records of the network it sits on: its artifact, name, weights'
    sha256 (a retrained base needs a refitted profile) and training record."""
    return {
        "artifact": str(base_plugin.artifact),
        "name": card.name,
        "sha256": card.sha256,
        "provenance": card.provenance,
    }


def write_mass_profile_artifact(
    plugin: Plugin,
    base_plugin: Plugin,
    profile: MassProfile,
    output: Path,
    *,
    provenance: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> ModelCard:
    """Write an artifact of ``plugin``: ``base_plugin``'s network followed by ``profile``'s shift.

    ``plugin``'s features must be ``base_plugin``'s, flattened, with the jet mass appended as
    the last column (e.g. :func:`hepml_coffea.features.particle_cloud_and_msoftdrop`). The card
    records the profile and the base artifact's sha256 and training record.
    """
    import keras

    from hepml_coffea import runtime
    from hepml_coffea.layers import Channels, MassDependentShift

    base = runtime.get_model(base_plugin, backend="keras")
    if base.card.preprocessing:
        raise ArtifactError(
            f"plugin {plugin.name!r}: base artifact {base_plugin.artifact} standardises its inputs; "
            "a mass profile can only be put on a network that reads its features as they are"
        )
    base_shape = tuple(base.card.input_shape)
    n_base = int(np.prod(base_shape))
    if len(plugin.feature_names) != n_base + 1:
        raise ArtifactError(
            f"plugin {plugin.name!r} builds {len(plugin.feature_names)} features per jet, but a mass profile on "
            f"{base_plugin.name!r} needs its {n_base} inputs flattened and the jet mass after them ({n_base + 1})"
        )
    inputs = keras.Input(shape=(n_base + 1,), name="features_and_mass")
    base_inputs = keras.layers.Reshape(base_shape, name="base_features")(
        Channels(0, n_base, name="flat_features")(inputs)
    )
    score = keras.Model(base.model.inputs[0], base.model.outputs[0], name="base")(base_inputs)
    mass = Channels(n_base, n_base + 1, name="mass")(inputs)
    shifted = MassDependentShift(profile.centres, profile.thresholds, name="mass_dependent_shift")(
        [score, mass]
    )
    model = keras.Model(inputs, shifted, name=f"{plugin.name}_mass_profile")
    record = {
        "mass_profile": profile.record(),
        "base": base_record(base_plugin, base.card),
        **(provenance or {}),
    }
    write_artifact(
        output,
        model,
        name=plugin.name,
        inputs=list(plugin.feature_names),
        input_shape=[n_base + 1],
        outputs=list(base.card.outputs),
        preprocessing={},
        provenance=record,
        metrics=metrics or {},
    )
    return export_trained_artifact(output, plugin_name=plugin.name)
