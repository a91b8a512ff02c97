"""``pfn`` and ``efn``: Deep Sets on particle clouds (Komiske, Metodiev & Thaler, 1810.05165).

Both map every constituent through a shared per-particle network Phi, sum over the jet and
classify the sum with a network F. The particle flow network (PFN) gives Phi all cloud
channels; the energy flow network (EFN) gives Phi only the angles and weights the sum by each
constituent's pT fraction, which makes it infrared and collinear safe. Sizes follow the
top-tagging comparison (1902.09914): Phi 100-100-128 (the latent width is 256 there), F 100-100-100.
``pfn_md`` is the same network fine-tuned with the DisCo loss so that cutting on it leaves the
QCD jet-mass distribution nearly unchanged; its shipped artifact averages two such networks
(DisCo lambda 18 and 24), chosen on validation jets (docs/decorrelation.md). Training it gives
one network, as for ``pfn``. ``pfn_ddt`` decorrelates the other way: the plain ``pfn`` score
cut at a mass-dependent threshold, the profile fitted to trade signal efficiency against
sculpting at the 50 % top-efficiency working point (``hepml_coffea.training.mass_profile``); it
reads the soft-drop mass beside the cloud and is fitted, not trained.
"""

from __future__ import annotations

from hepml_plugins.common import constituent_top_tagger

from hepml_coffea import Plugin, hookimpl
from hepml_coffea.features.particles import (
    CLOUD_FEATURES,
    COORDINATE_CHANNELS,
    MASK_CHANNEL,
    PT_FRACTION_CHANNEL,
    particle_cloud,
    particle_cloud_and_msoftdrop,
    particle_cloud_and_msoftdrop_names,
)

PHI_UNITS = (100, 100, 128)
F_UNITS = (100, 100, 100)


def _deep_set(name: str, inputs, per_particle, weights):
    import keras
    from keras import layers

    from hepml_coffea.layers import MaskedPool

    x = per_particle
    for units in PHI_UNITS:
        x = layers.Dense(units, activation="relu")(x)
    x = MaskedPool("sum", name="sum_over_particles")([x, weights])
    for units in F_UNITS:
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="top")(x)
    return keras.Model(inputs, outputs, name=name)


def build_pfn(input_shape: tuple[int, ...]):
    import keras

    from hepml_coffea.layers import Channels

    cloud = keras.Input(shape=input_shape, name="particle_cloud")
    features = Channels(0, MASK_CHANNEL, name="features")(cloud)
    mask = Channels(MASK_CHANNEL, MASK_CHANNEL + 1, name="mask")(cloud)
    return _deep_set("pfn", cloud, features, mask)


def build_efn(input_shape: tuple[int, ...]):
    import keras

    from hepml_coffea.layers import Channels

    cloud = keras.Input(shape=input_shape, name="particle_cloud")
    angles = Channels(*COORDINATE_CHANNELS, name="angles")(cloud)
    pt_fraction = Channels(PT_FRACTION_CHANNEL, PT_FRACTION_CHANNEL + 1, name="pt_fraction")(cloud)
    return _deep_set("efn", cloud, angles, pt_fraction)


PFN = constituent_top_tagger(
    "pfn",
    features=particle_cloud,
    feature_names=CLOUD_FEATURES,
    build_model=build_pfn,
    description="particle flow network (Deep Sets) on the 50 leading constituents",
)
PFN_MD = constituent_top_tagger(
    "pfn_md",
    features=particle_cloud,
    feature_names=CLOUD_FEATURES,
    build_model=build_pfn,
    description="mass-decorrelated PFN: DisCo-trained PFNs, averaged (see docs/decorrelation.md)",
)
PFN_DDT = constituent_top_tagger(
    "pfn_ddt",
    features=particle_cloud_and_msoftdrop,
    feature_names=particle_cloud_and_msoftdrop_names(),
    build_model=None,
    extra_branches=("FatJet_msoftdrop",),
    description="mass-decorrelated PFN: pfn cut at a fitted msoftdrop-dependent threshold (50% top efficiency)",
)
EFN = constituent_top_tagger(
    "efn",
    features=particle_cloud,
    feature_names=CLOUD_FEATURES,
    build_model=build_efn,
    description="energy flow network: IRC-safe Deep Sets on constituent angles weighted by pT",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [PFN, PFN_MD, PFN_DDT, EFN]
