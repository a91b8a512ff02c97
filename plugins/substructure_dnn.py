"""``substructure_dnn``: a small dense network on jet-level substructure (log pT, msoftdrop,
tau21, tau32), the smallest real Keras tagger, exercising the whole network path.

Its artifact is trained by ``hepml-coffea train --plugin substructure_dnn`` on samples made by
``hepml-coffea generate``; the card beside the weights says exactly which.
"""

from __future__ import annotations

from pathlib import Path

from hepml_coffea import Output, Plugin, PluginKind, hookimpl
from hepml_coffea.features import SUBSTRUCTURE_BRANCHES, SUBSTRUCTURE_FEATURES, fatjet_substructure

ARTIFACT = Path(__file__).parent / "artifacts" / "substructure_dnn"


def build_model(input_shape: tuple[int, ...]):
    """Two hidden layers of 32 ReLU units and a sigmoid output (about 1.3k parameters)."""
    import keras

    inputs = keras.Input(shape=input_shape, name="substructure")
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    hidden = keras.layers.Dense(32, activation="relu")(hidden)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="top")(hidden)
    return keras.Model(inputs, outputs, name="substructure_dnn")


SUBSTRUCTURE_DNN = Plugin(
    name="substructure_dnn",
    kind=PluginKind.TAGGER,
    collection="FatJet",
    required_branches=SUBSTRUCTURE_BRANCHES,
    outputs=(Output("top", doc="top-vs-QCD probability"),),
    features=fatjet_substructure,
    feature_names=SUBSTRUCTURE_FEATURES,
    artifact=ARTIFACT,
    build_model=build_model,
    description="dense network on log pT, msoftdrop, tau21, tau32 (Pythia8 ttbar vs QCD)",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [SUBSTRUCTURE_DNN]
