"""``jet_autoencoder`` and ``jet_autoencoder_md``: anomaly scores trained on QCD jets only.

``jet_autoencoder`` is a dense autoencoder on DeepTop jet images (``features.images``: 32x32
pixels, neutral pT fraction, charged pT fraction, track multiplicity), each channel put on a
per-jet O(1) scale (``hepml_coffea.anomaly.scaled_images``: the square roots of the pT fractions, the
jet's share of its charged particles per pixel); its score is the log of
the per-jet mean squared reconstruction error (Heimel et al. 1808.08979, Farina et al.
1808.08992): larger = more anomalous. ``jet_autoencoder_md`` is the same network followed by a
mass profile fitted on QCD only (``hepml_coffea.anomaly.profile``): the score minus its QCD
median at the jet's soft-drop mass, over the QCD spread there, so a cut keeps the QCD mass shape.
``jet_density`` is a density estimate instead of an autoencoder: the negative log-likelihood of
the jet's soft-drop mass, tau21 and tau32 under a Gaussian mixture fitted to QCD jets
(``hepml_coffea.anomaly.density``), so it flags jets that are rare among QCD jets, not jets that
are complex, and so passes the inverse test. None has seen a signal jet; docs/anomaly.md has the
training commands and the evaluation.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from hepml_plugins.common import ARTIFACTS

from hepml_coffea import Output, Plugin, PluginKind, hookimpl
from hepml_coffea.anomaly.density import JET_SHAPE_BRANCHES, JET_SHAPE_FEATURES, jet_shape_features
from hepml_coffea.anomaly.scaled_images import SCALED_CHANNELS, scaled_images
from hepml_coffea.errors import InvalidInputError
from hepml_coffea.features.constituents import constituent_branches
from hepml_coffea.features.images import DEFAULT_PIXELS, jet_images

LATENT = 32
HIDDEN = 256
IMAGE_FEATURES = tuple(
    f"{channel}_{row}_{column}"
    for row in range(DEFAULT_PIXELS)
    for column in range(DEFAULT_PIXELS)
    for channel in SCALED_CHANNELS
)


def _images(events, plugin: str) -> np.ndarray:
    try:
        images = jet_images(events, "FatJet")
    except InvalidInputError as exc:  # e.g. a jet without linked constituents: say whose input
        raise InvalidInputError(f"plugin {plugin!r}: {exc}") from exc
    empty = images[..., :2].reshape(len(images), -1).sum(axis=1) == 0
    if empty.any():
        raise InvalidInputError(
            f"plugin {plugin!r}: {int(empty.sum())} of {len(images)} FatJet objects have no "
            "constituents in their image (FatJetPFCands links); select jets with constituents "
            "(e.g. FatJet.nConstituents > 0) before attaching"
        )
    return scaled_images(images).reshape(len(images), -1)


def autoencoder_images(events) -> np.ndarray:
    """``(n_jets, 3072)``: the scaled jet image (``hepml_coffea.anomaly.scaled_images``: sqrt pT
    fractions, the per-jet charged-multiplicity share) flattened (y, x, channel); refuses
    empty jets."""
    return _images(events, "jet_autoencoder")


def autoencoder_images_and_msoftdrop(events) -> np.ndarray:
    """``(n_jets, 3073)``: :func:`autoencoder_images` with the soft-drop mass (GeV) appended."""
    images = _images(events, "jet_autoencoder_md")
    msoftdrop = ak.to_numpy(ak.flatten(events.FatJet.msoftdrop, axis=1)).astype(np.float32)
    return np.concatenate([images, msoftdrop[:, None]], axis=1)


def build_autoencoder(input_shape: tuple[int, ...]):
    """Dense autoencoder n -> 256 -> 32 -> 256 -> n (ReLU; linear output)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Dense(HIDDEN, activation="relu")(inputs)
    latent = layers.Dense(LATENT, activation="relu", name="latent")(x)
    x = layers.Dense(HIDDEN, activation="relu")(latent)
    outputs = layers.Dense(int(np.prod(input_shape)), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="jet_autoencoder")


_BRANCHES = constituent_branches("FatJet")

JET_AUTOENCODER = Plugin(
    name="jet_autoencoder",
    kind=PluginKind.ANOMALY_SCORE,
    collection="FatJet",
    required_branches=_BRANCHES,
    outputs=(
        Output(
            "score", range=(-12.0, 0.0), doc="log reconstruction error; larger = more anomalous"
        ),
    ),
    features=autoencoder_images,
    feature_names=IMAGE_FEATURES,
    artifact=ARTIFACTS / "jet_autoencoder",
    build_model=build_autoencoder,
    standardise=False,
    description="dense autoencoder on jet images, trained on QCD only: log reconstruction error",
)
JET_AUTOENCODER_MD = Plugin(
    name="jet_autoencoder_md",
    kind=PluginKind.ANOMALY_SCORE,
    collection="FatJet",
    required_branches=(*_BRANCHES, "FatJet_msoftdrop"),
    outputs=(
        Output(
            "score", range=(-5.0, 10.0), doc="jet_autoencoder score profiled in msoftdrop on QCD"
        ),
    ),
    features=autoencoder_images_and_msoftdrop,
    feature_names=(*IMAGE_FEATURES, "msoftdrop"),
    artifact=ARTIFACTS / "jet_autoencoder_md",
    build_model=None,
    standardise=False,
    description="jet_autoencoder with a QCD-only msoftdrop profile: mass-decorrelated anomaly score",
)


def density_features(events) -> np.ndarray:
    """``(n_jets, 3)``: msoftdrop [GeV], tau21, tau32; refuses jets without a shape (tau1 == 0)."""
    return jet_shape_features(events, "jet_density")


JET_DENSITY = Plugin(
    name="jet_density",
    kind=PluginKind.ANOMALY_SCORE,
    collection="FatJet",
    required_branches=JET_SHAPE_BRANCHES,
    outputs=(
        Output(
            "score",
            range=(-5.0, 30.0),
            doc="-log QCD density of (msoftdrop, tau21, tau32); larger = more anomalous",
        ),
    ),
    features=density_features,
    feature_names=JET_SHAPE_FEATURES,
    artifact=ARTIFACTS / "jet_density",
    build_model=None,
    standardise=True,
    description="Gaussian-mixture density of QCD jet shapes: -log p_QCD(msoftdrop, tau21, tau32)",
)


@hookimpl
def hepml_register_anomaly_scores() -> list[Plugin]:
    return [JET_AUTOENCODER, JET_AUTOENCODER_MD, JET_DENSITY]
