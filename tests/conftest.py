"""Shared fixtures: the real CMS files and a small, genuinely trained Keras artifact."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
from real_cms import open_events

from hepml_coffea import Plugin, get_registry
from hepml_coffea.artifacts import write_artifact


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
    write_artifact(
        directory,
        model,
        name=builtin.name,
        inputs=list(builtin.feature_names),
        input_shape=list(features.shape[1:]),
        outputs=["top"],
        preprocessing={"mean": mean.tolist(), "std": std.tolist()},
        provenance={"purpose": "test fixture"},
    )
    return dataclasses.replace(builtin, artifact=directory)


@pytest.fixture(scope="session")
def generated_ttbar_qcd(tmp_path_factory):
    """Fresh Pythia8 ttbar and QCD samples (400 events each: about 100 top-matched and 200 QCD jets in the window)."""
    from hepml_coffea.samples import generate_sample

    folder = tmp_path_factory.mktemp("generated")
    signal = generate_sample("ttbar", 400, folder / "ttbar.root", seed=5, progress=False)
    background = generate_sample("qcd", 400, folder / "qcd.root", seed=6, progress=False)
    return signal, background
