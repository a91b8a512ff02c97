"""``particlenet_lite``: a dynamic graph CNN on particle clouds (Qu & Gouskos, arXiv:1902.08570).

EdgeConv blocks: the first finds each constituent's k nearest neighbours in (eta, phi), the
next in the learned feature space; then masked global average pooling and a dense head with
dropout. This is the paper's Lite configuration (k = 7, blocks 32 and 64 wide, dense 128).
The full ParticleNet (k = 16, blocks 64-128-256) is the same function with other arguments;
it trains at about 40 jets/s on a 2-core CPU, so it is not shipped yet (see docs/taggers.md).
"""

from __future__ import annotations

from hepml_plugins.common import constituent_top_tagger

from hepml_coffea import Plugin, hookimpl
from hepml_coffea.features.particles import (
    CLOUD_FEATURES,
    COORDINATE_CHANNELS,
    MASK_CHANNEL,
    particle_cloud,
)


def _particlenet(
    name: str, input_shape, *, k: int, blocks: tuple[tuple[int, ...], ...], dense: int
):
    import keras
    from keras import layers

    from hepml_coffea.layers import Channels, EdgeConv, MaskedPool

    cloud = keras.Input(shape=input_shape, name="particle_cloud")
    points = Channels(*COORDINATE_CHANNELS, name="coordinates")(cloud)
    mask = Channels(MASK_CHANNEL, MASK_CHANNEL + 1, name="mask")(cloud)
    features = layers.BatchNormalization(name="input_norm")(
        Channels(0, MASK_CHANNEL, name="features")(cloud)
    )
    for i, channels in enumerate(blocks):
        features = EdgeConv(k, channels, name=f"edge_conv_{i}")([points, features, mask])
        points = features
    x = MaskedPool("mean", name="mean_over_particles")([features, mask])
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="top")(x)
    return keras.Model(cloud, outputs, name=name)


def build_particlenet_lite(input_shape: tuple[int, ...]):
    return _particlenet(
        "particlenet_lite", input_shape, k=7, blocks=((32, 32, 32), (64, 64, 64)), dense=128
    )


PARTICLENET_LITE = constituent_top_tagger(
    "particlenet_lite",
    features=particle_cloud,
    feature_names=CLOUD_FEATURES,
    build_model=build_particlenet_lite,
    description="ParticleNet-Lite: 2 EdgeConv blocks, kNN (k=7) in eta-phi, 50 constituents",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [PARTICLENET_LITE]
