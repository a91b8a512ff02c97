"""Shared fixtures: the real CMS files and a small, genuinely trained Keras artifact."""

from __future__ import annotations

import dataclasses
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from coffea.nanoevents import NanoAODSchema, NanoEventsFactory, PFNanoAODSchema

from hepml_coffea import Plugin, get_registry
from hepml_coffea.artifacts import write_artifact
from hepml_coffea.data import cms_file


def open_events(key: str, mode: str = "eager", schema=PFNanoAODSchema, **kwargs):
    path = cms_file(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NanoEventsFactory.from_root(
            {str(path): "Events"}, schemaclass=schema, mode=mode,
            metadata={"dataset": key, "filename": str(path)}, **kwargs,
        ).events()


@pytest.fixture(scope="session")
def dnn_plugin(tmp_path_factory) -> Plugin:
    """The built-in substructure_dnn plugin, pointed at an artifact trained here in seconds.

    The network is fitted for a few epochs on the CMS pfnano jets (label: CMS's own
    particleNet_TvsQCD > 0.5), which is enough to make every output depend on its inputs;
    it keeps the tests independent of the shipped artifact.
    """
    import awkward as ak
    import keras

    builtin = get_registry().get("substructure_dnn")
    events = open_events("pfnano")
    features = builtin.features(events)
    labels = ak.to_numpy(ak.flatten(events.FatJet.particleNet_TvsQCD)) > 0.5
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-3
    keras.utils.set_random_seed(1)
    model = builtin.build_model(features.shape[1:])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit((features - mean) / std, labels.astype("float32"), epochs=5, verbose=0)
    directory = tmp_path_factory.mktemp("artifact") / "substructure_dnn"
    write_artifact(directory, model, name=builtin.name, inputs=list(builtin.feature_names),
                   input_shape=list(features.shape[1:]), outputs=["top"],
                   preprocessing={"mean": mean.tolist(), "std": std.tolist()},
                   provenance={"purpose": "test fixture"})
    return dataclasses.replace(builtin, artifact=directory)
