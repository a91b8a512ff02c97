"""A background-only mass profile: the anomaly score standardised per jet-mass bin on QCD.

A plain autoencoder's loss grows with the jet mass (heavy, many-prong jets are hard to
reconstruct), so cutting on it sculpts the QCD mass. Subtracting the QCD median of the score at
the jet's mass and dividing by the QCD spread there (the 95th percentile minus the median) puts
every mass bin's QCD tail at the same place: a DDT (Dolen et al., 1603.00027) that needs no
signal, fitted with the equal-population mass bins' quantiles and interpolated linearly in mass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepml_coffea.artifacts import ModelCard
from hepml_coffea.errors import LabelledDataError
from hepml_coffea.plugin import Plugin
from hepml_coffea.training.mass_profile import base_record, mass_bins

#: the quantile that, with the median, sets each mass bin's width
WIDTH_QUANTILE = 0.95
DEFAULT_BINS = 12


@dataclass(frozen=True)
class BackgroundProfile:
    masses: tuple[float, ...]
    centres: tuple[float, ...]
    widths: tuple[float, ...]

    def apply(self, scores: np.ndarray, mass: np.ndarray) -> np.ndarray:
        """The profiled score, as :class:`hepml_coffea.anomaly.score_layers.MassProfileScale` computes it."""
        centre = np.interp(mass, self.masses, self.centres)
        return (scores - centre) / np.interp(mass, self.masses, self.widths)

    def astuple(self) -> tuple[tuple[float, ...], ...]:
        return astuple(self)

    def record(self) -> dict[str, list[float] | float]:
        return {
            "masses": list(self.masses),
            "centres": list(self.centres),
            "widths": list(self.widths),
            "width_quantile": WIDTH_QUANTILE,
        }


def fit_background_profile(
    scores: np.ndarray, mass: np.ndarray, n_bins: int = DEFAULT_BINS
) -> BackgroundProfile:
    """Median and spread of ``scores`` in ``n_bins`` equal-population bins of ``mass`` (QCD jets)."""
    scores, mass = np.asarray(scores, np.float64).ravel(), np.asarray(mass, np.float64).ravel()
    if len(scores) < 50 * n_bins:
        raise LabelledDataError(
            f"a mass profile over {n_bins} bins needs at least {50 * n_bins} background jets, "
            f"got {len(scores)}; use a larger QCD sample"
        )
    edges = np.quantile(mass, np.linspace(0, 1, n_bins + 1))
    bins = mass_bins(mass, edges)
    masses, centres, widths = [], [], []
    for index in range(n_bins):
        in_bin = bins == index
        median = np.median(scores[in_bin])
        masses.append(float(np.median(mass[in_bin])))
        centres.append(float(median))
        widths.append(float(max(np.quantile(scores[in_bin], WIDTH_QUANTILE) - median, 1e-6)))
    return BackgroundProfile(tuple(masses), tuple(centres), tuple(widths))


def write_profiled_artifact(
    plugin: Plugin,
    base_plugin: Plugin,
    background_files: Sequence[Path],
    output: Path,
    *,
    label: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> ModelCard:
    """Write ``plugin``'s artifact: ``base_plugin``'s scoring network, then the mass profile of
    its scores fitted on the jets of ``background_files`` (those with truth label ``label``).

    ``plugin``'s features are ``base_plugin``'s with the jet mass appended as the last column.
    """
    import keras

    from hepml_coffea import runtime
    from hepml_coffea.anomaly.cards import check_background_only
    from hepml_coffea.anomaly.score_layers import MassProfileScale
    from hepml_coffea.anomaly.slim import without_training_state
    from hepml_coffea.artifacts import write_artifact
    from hepml_coffea.export import export_trained_artifact
    from hepml_coffea.layers import Channels
    from hepml_coffea.training.dataset import load_background_features
    from hepml_coffea.training.fit import provenance_record

    base = runtime.get_model(base_plugin, backend="keras")
    check_background_only(base_plugin.name, base.card)
    data = load_background_features(plugin, background_files, label=label)
    n_base = data.features.shape[1] - 1
    scores = base.predict(data.features[:, :n_base]).reshape(-1)
    profile = fit_background_profile(scores, data.mass)
    inputs = keras.Input(shape=(n_base + 1,), name="features_and_mass")
    score = base.model(Channels(0, n_base, name="base_features")(inputs))
    mass = Channels(n_base, n_base + 1, name="mass")(inputs)
    shifted = MassProfileScale(*profile.astuple(), name="mass_profile")([score, mass])
    # the base's nested autoencoder may carry training's optimizer state: not into this artifact
    model = without_training_state(keras.Model(inputs, shifted, name=plugin.name))
    every = np.arange(len(scores))
    fit = {
        "mass_profile": profile.record(),
        "base": base_record(base_plugin, base.card),
    }
    write_artifact(
        output,
        model,
        name=plugin.name,
        inputs=list(plugin.feature_names),
        input_shape=[n_base + 1],
        outputs=[o.name for o in plugin.outputs],
        preprocessing={},
        provenance=provenance_record(data, (every, every[:0], every[:0]), 0, fit, provenance),
        metrics={"profiled_median_score": float(np.median(profile.apply(scores, data.mass)))},
    )
    return export_trained_artifact(output, plugin_name=plugin.name)
