"""Every built-in network tagger: trains, saves, reloads in safe mode and attaches in every mode.

Each architecture is fitted for two epochs on the session's small generated sample; the point is
the machinery (custom layers through the hook, identical features for training and inference,
identical columns eager / virtual / dask), not the physics, which test_shipped_artifacts checks.
"""

import dataclasses

import awkward as ak
import numpy as np
import pytest

from hepml_coffea import attach, get_registry, runtime
from hepml_coffea.artifacts import read_card
from hepml_coffea.events import open_nanoaod
from hepml_coffea.training import load_labelled_features, train_plugin

NETWORK_TAGGERS = ["topodnn", "pfn", "efn", "deeptop_cnn", "particlenet_lite"]


@pytest.fixture(scope="module", params=NETWORK_TAGGERS)
def trained(request, generated_ttbar_qcd, tmp_path_factory):
    plugin = get_registry().get(request.param)
    signal, background = generated_ttbar_qcd
    data = load_labelled_features(plugin, [signal], [background])
    directory = tmp_path_factory.mktemp(plugin.name) / plugin.name
    train_plugin(plugin, data, directory, epochs=2, batch_size=64, verbose=0)
    return dataclasses.replace(plugin, artifact=directory), data


def _rows_sorted(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(len(x), -1)
    return flat[np.lexsort(flat.T[::-1])]


def _events(path, mode):
    return open_nanoaod(path, mode)


def test_artifact_reloads_in_safe_mode_and_matches_its_card(trained):
    plugin, data = trained
    card = read_card(plugin.artifact, plugin.name)
    assert card.inputs == list(plugin.feature_names)
    assert tuple(card.input_shape) == data.features.shape[1:]
    assert bool(card.preprocessing) == plugin.standardise
    model = runtime.get_model(plugin)  # keras.saving.load_model(..., safe_mode=True)
    scores = model.predict(data.features)
    assert scores.shape == (len(data.features), 1) and np.all((scores >= 0) & (scores <= 1))
    assert np.std(scores) > 0, "the output must depend on the input"


def test_training_and_inference_build_the_same_features(trained, generated_ttbar_qcd):
    plugin, data = trained
    background_events = _events(generated_ttbar_qcd[1], "virtual")
    inference = plugin.features(background_events)
    training = data.features[data.labels == 0]
    assert np.array_equal(_rows_sorted(training), _rows_sorted(inference))


def test_columns_identical_eager_virtual_and_dask(trained, generated_ttbar_qcd):
    plugin, _ = trained
    path = generated_ttbar_qcd[0]
    expected = runtime.get_model(plugin).predict(plugin.features(_events(path, "eager")))[:, 0]
    column = plugin.column_name("top")
    for mode in ("eager", "virtual"):
        got = ak.to_numpy(ak.flatten(attach(_events(path, mode), [plugin]).FatJet[column]))
        assert np.allclose(got, expected, atol=1e-6), mode
    lazy = attach(_events(path, "dask"), [plugin]).FatJet[column]
    got = ak.to_numpy(ak.flatten(lazy.compute(scheduler="sync")))
    assert np.allclose(got, expected, atol=1e-6)


def test_custom_layers_load_in_fresh_worker_processes(generated_ttbar_qcd, tmp_path):
    """particlenet_lite's EdgeConv reaches worker processes through the custom-objects hook."""
    plugin = get_registry().get("particlenet_lite")
    data = load_labelled_features(
        plugin, [generated_ttbar_qcd[0]], [generated_ttbar_qcd[1]], max_per_class=64
    )
    train_plugin(plugin, data, tmp_path / "pn", epochs=1, batch_size=64, verbose=0)
    plugin = dataclasses.replace(plugin, artifact=tmp_path / "pn")
    events = _events(generated_ttbar_qcd[1], "dask")
    column = attach(events, [plugin]).FatJet.particlenet_lite_top
    in_processes = ak.flatten(column.compute(scheduler="processes", num_workers=2))
    in_threads = ak.flatten(column.compute(scheduler="threads"))
    assert len(in_processes) > 0 and np.allclose(
        ak.to_numpy(in_processes), ak.to_numpy(in_threads), atol=1e-6
    )
