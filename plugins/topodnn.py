"""``topodnn``: a dense network on the 30 leading constituents (Pearkes et al., 1704.02124).

Inputs are pT / jet pT and the DeepTop-oriented (x, y) of each constituent, 90 numbers per jet,
standardised with constants stored in the model card. Hidden layers 300-102-12-6 as in the
TopoDNN entry of the top-tagging comparison (1902.09914).
"""

from __future__ import annotations

from hepml_plugins.common import constituent_top_tagger

from hepml_coffea import Plugin, hookimpl
from hepml_coffea.features.particles import constituent_list, constituent_list_names


def build_model(input_shape: tuple[int, ...]):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="constituents")
    x = inputs
    for units in (300, 102, 12, 6):
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="top")(x)
    return keras.Model(inputs, outputs, name="topodnn")


TOPODNN = constituent_top_tagger(
    "topodnn",
    features=constituent_list,
    feature_names=constituent_list_names(),
    build_model=build_model,
    standardise=True,
    description="dense network (300-102-12-6) on the 30 leading constituents' pT, x, y",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [TOPODNN]
