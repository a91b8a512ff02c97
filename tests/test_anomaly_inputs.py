"""Bad input to the anomaly scores, through ``hepml_coffea.attach``: NaN/inf features, jets
without constituents and a card that records signal each give one clear error naming the
plugin, the column and the fix."""

import dataclasses
import json
import shutil

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea import attach, get_registry
from hepml_coffea.errors import ArtifactError, HepmlCoffeaError, InvalidInputError

SCORES = ["jet_autoencoder", "jet_autoencoder_md", "jet_density"]


def _with_jet_value(events, field: str, index: int, value: float):
    values = ak.to_numpy(ak.flatten(events.FatJet[field])).copy()
    values[index] = value
    events["FatJet", field] = ak.unflatten(values, ak.num(events.FatJet))
    return events


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
@pytest.mark.parametrize("name", ["jet_autoencoder_md", "jet_density"])
def test_non_finite_msoftdrop_is_reported_with_plugin_feature_and_fix(name, bad_value):
    events = _with_jet_value(open_events("pfnano"), "msoftdrop", 3, bad_value)
    with pytest.raises(InvalidInputError) as error:
        attach(events, [name])
    message = str(error.value)
    assert f"'{name}'" in message and "1 of 24 FatJet" in message
    assert "['msoftdrop']" in message and "Select valid objects" in message


@pytest.mark.parametrize("field, feature", [("tau1", "tau21"), ("tau3", "tau32")])
def test_a_nan_tau_is_not_hidden_by_the_ratio_convention(field, feature):
    events = _with_jet_value(open_events("pfnano"), field, 5, np.nan)
    with pytest.raises(InvalidInputError, match=rf"'jet_density'.*\['{feature}'\]"):
        attach(events, ["jet_density"])


def test_a_non_finite_constituent_is_refused_before_the_image_is_built():
    # a NaN constituent pT spoils the jet axis the constituents are matched by: the link check
    # refuses the jet (naming the link table and the fix) before any image pixel turns NaN
    events = open_events("pfnano")
    pt = ak.to_numpy(ak.flatten(events.PFCands.pt)).copy()
    linked = ak.to_numpy(ak.flatten(events.FatJetPFCands.pFCandsIdx))[:1]
    pt[linked] = np.nan  # the first event's first FatJet constituent
    events["PFCands", "pt"] = ak.unflatten(pt, ak.num(events.PFCands))
    with pytest.raises(InvalidInputError) as error:
        attach(events, ["jet_autoencoder"])
    message = str(error.value)
    assert message.startswith("plugin 'jet_autoencoder': 1 FatJet jet(s) cannot be matched")
    assert "FatJetPFCands link table" in message and "Select, slice or reorder FatJet" in message


def test_a_jet_without_shape_is_refused_by_the_density():
    events = _with_jet_value(open_events("pfnano"), "tau1", 2, 0.0)
    with pytest.raises(InvalidInputError) as error:
        attach(events, ["jet_density"])
    message = str(error.value)
    assert "'jet_density'" in message and "1 of 24 FatJet" in message
    assert "FatJet_tau1 == 0" in message and "tau1 > 0" in message


@pytest.mark.parametrize("name", ["jet_autoencoder", "jet_autoencoder_md"])
def test_a_jet_without_constituents_is_refused_by_the_autoencoders(name):
    # the link check finds the jet without constituents before an empty image is built
    events = open_events("pfnano")
    links = events.FatJetPFCands
    first_event = ak.local_index(links.jetIdx, axis=0) == 0
    events["FatJetPFCands"] = links[~(first_event & (links.jetIdx == 0))]
    with pytest.raises(InvalidInputError) as error:
        attach(events, [name])
    message = str(error.value)
    assert message.startswith(f"plugin {name!r}: 1 FatJet jet(s) cannot be matched")
    assert "1 with no linked constituents" in message and "FatJetPFCands" in message


@pytest.mark.parametrize("name", SCORES)
def test_a_signal_trained_card_is_refused_at_attach(name, tmp_path):
    plugin = get_registry().get(name)
    artifact = tmp_path / name
    shutil.copytree(plugin.artifact, artifact)
    card = json.loads((artifact / "model.json").read_text())
    card["provenance"] = {
        **card["provenance"],
        "signal_seen": True,
        "trained_on": ["signal", "background"],
    }
    (artifact / "model.json").write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match=rf"'{name}'.*signal_seen=True.*--background") as error:
        attach(open_events("pfnano"), [dataclasses.replace(plugin, artifact=artifact)])
    assert isinstance(error.value, HepmlCoffeaError) and "\n" not in str(error.value)


@pytest.mark.parametrize("name", SCORES)
def test_clean_jets_get_finite_scores(name):
    jets = ak.flatten(attach(open_events("pfnano"), [name]).FatJet)
    assert np.isfinite(ak.to_numpy(jets[f"{name}_score"])).all()


def test_every_score_is_identical_in_every_execution_mode():
    columns = [f"{name}_score" for name in SCORES]
    eager = attach(open_events("pfnano"), SCORES).FatJet
    virtual = attach(open_events("pfnano", mode="virtual"), SCORES).FatJet
    dask = attach(open_events("pfnano", mode="dask"), SCORES).FatJet
    computed = dask[columns].compute()
    for column in columns:
        reference = ak.to_numpy(ak.flatten(eager[column]))
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(virtual[column])), reference)
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(computed[column])), reference)
