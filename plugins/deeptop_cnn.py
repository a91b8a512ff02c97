"""``deeptop_cnn``: a convolutional network on DeepTop jet images (Macaluso & Shih, 1803.00107).

Images are 32x32 pixels over |x|, |y| < 0.8 with neutral pT, charged pT and track multiplicity
channels (``hepml_coffea.features.images``). The network follows DeepTop's shape (stacked 3x3
convolutions, max pooling, a dense head) with fewer filters, so it trains on a laptop CPU.
"""

from __future__ import annotations

from hepml_plugins.common import constituent_top_tagger

from hepml_coffea import Plugin, hookimpl
from hepml_coffea.features.images import IMAGE_CHANNELS, jet_images


def build_model(input_shape: tuple[int, ...]):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="jet_image")
    x = inputs
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="top")(x)
    return keras.Model(inputs, outputs, name="deeptop_cnn")


DEEPTOP_CNN = constituent_top_tagger(
    "deeptop_cnn",
    features=jet_images,
    feature_names=IMAGE_CHANNELS,
    build_model=build_model,
    description="CNN on 32x32 DeepTop jet images (neutral pT, charged pT, track multiplicity)",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [DEEPTOP_CNN]
