"""Composed plugins: ``pfn@puppi`` is pfn on PUPPI-weighted candidates, attached with puppi
computed once per chunk, identical in every mode; cycles and meaningless compositions refused."""

import dataclasses

import awkward as ak
import numpy as np
import pytest

import hepml_coffea
from hepml_coffea import PluginDefinitionError, get_registry
from hepml_coffea.composition import compose
from hepml_coffea.events import open_nanoaod
from hepml_coffea.pileup.contract import MethodResult, jets_from_weights, pileup_regression


@pytest.fixture(scope="module")
def ttbar_mu60(tmp_path_factory):
    from hepml_coffea.samples import generate_sample

    path = tmp_path_factory.mktemp("composition") / "ttbar_mu60.root"
    return generate_sample("ttbar", 24, path, pileup=60.0, seed=12, progress=False)


def keep_everything(events, cands) -> MethodResult:
    """A weighted 'method' that keeps every candidate whole (weight 1)."""
    weights = np.ones(len(cands.pt))
    return MethodResult(weights, jets_from_weights(cands, weights))


UNWEIGHTED = pileup_regression("unweighted", keep_everything, weights=True)


def columns(events, names, mode):
    out = hepml_coffea.attach(events, names).FatJet
    fields = [f"{name.replace('@', '_')}_top" for name in names]
    values = [out[f] for f in fields]
    if mode == "dask":
        import dask

        values = dask.compute(*values)
    return [ak.to_numpy(ak.flatten(v)) for v in values]


def test_weights_of_one_leave_the_tagger_unchanged(ttbar_mu60):
    events = open_nanoaod(ttbar_mu60, "eager")
    composed = compose(get_registry().get("pfn"), UNWEIGHTED)
    out = hepml_coffea.attach(events, ["pfn", composed]).FatJet
    np.testing.assert_allclose(
        ak.to_numpy(ak.flatten(out.pfn_unweighted_top)),
        ak.to_numpy(ak.flatten(out.pfn_top)),
        atol=2e-4,
    )


@pytest.mark.parametrize("name", ["pfn@puppi", "particlenet_lite@pumml"])
def test_a_composed_plugin_in_every_mode(ttbar_mu60, name):
    base, method = name.split("@")
    eager_events = hepml_coffea.attach(open_nanoaod(ttbar_mu60, "eager"), [name, base])
    assert f"{method}_weight" in eager_events.PFCands.fields  # attached implicitly
    plain = ak.to_numpy(ak.flatten(eager_events.FatJet[f"{base}_top"]))
    weighted = ak.to_numpy(ak.flatten(eager_events.FatJet[f"{base}_{method}_top"]))
    assert np.all((weighted >= 0) & (weighted <= 1))
    assert np.mean(np.abs(weighted - plain)) > 1e-3  # at MU 60 the weights change the score
    for mode in ("virtual", "dask"):
        (other,) = columns(open_nanoaod(ttbar_mu60, mode), [name], mode)
        np.testing.assert_array_equal(weighted, other, err_msg=mode)


def test_a_composed_plugin_alone_computes_its_method_once(ttbar_mu60):
    calls = []
    puppi = get_registry().get("puppi")
    counting = dataclasses.replace(
        puppi, features=lambda events: calls.append(1) or puppi.features(events)
    )
    pfn, efn = (get_registry().get(name) for name in ("pfn", "efn"))
    hepml_coffea.attach(
        open_nanoaod(ttbar_mu60, "eager"), [compose(pfn, counting), compose(efn, counting)]
    )
    assert len(calls) == 1


def test_meaningless_compositions_and_cycles_are_one_line():
    with pytest.raises(PluginDefinitionError, match="'area' has no per-candidate weight"):
        get_registry().get("pfn@area")
    with pytest.raises(PluginDefinitionError, match="'cutbased' reads no PF candidates"):
        get_registry().get("cutbased@puppi")
    with pytest.raises(PluginDefinitionError, match="write a composed plugin as TAGGER@PILEUP"):
        get_registry().get("pfn@")
    puppi = get_registry().get("puppi")
    first = dataclasses.replace(puppi, name="first")
    second = dataclasses.replace(puppi, name="second", reads=(first,))
    looped = dataclasses.replace(first, reads=(second,))
    with pytest.raises(PluginDefinitionError, match=r"cycle \(first -> second -> first\)"):
        hepml_coffea.attach(ak.Array([{"x": 1}]), [looped])


def test_training_a_composed_plugin_needs_its_own_output(tmp_path, capsys):
    from hepml_coffea.cli import main

    sample = str(tmp_path / "any.root")
    (tmp_path / "any.root").write_bytes(b"")
    assert main(["train", "--plugin", "pfn@puppi", "--signal", sample, "--background", sample]) == 2
    assert "pass --output DIR, so that training does not overwrite it" in capsys.readouterr().err


def test_training_data_of_a_composed_plugin_are_its_weighted_features(ttbar_mu60):
    """`train --plugin pfn@puppi` reads the files through the same pipeline: puppi computed
    first, the cloud built from the weighted candidates, as attach builds it."""
    from hepml_coffea.training.dataset import load_background_features

    composed = get_registry().get("pfn@puppi")
    plain = load_background_features(get_registry().get("pfn"), [ttbar_mu60], seed=3)
    weighted = load_background_features(composed, [ttbar_mu60], seed=3)
    assert weighted.features.shape == plain.features.shape
    np.testing.assert_array_equal(weighted.mass, plain.mass)  # the same jets, in the same order
    assert not np.array_equal(weighted.features, plain.features)
    events = open_nanoaod(ttbar_mu60, "eager")
    attached = hepml_coffea.attach(events, ["pfn@puppi"]).FatJet.pfn_puppi_top
    from hepml_coffea import runtime

    scores = runtime.get_model(composed).predict(weighted.features).reshape(-1)
    np.testing.assert_allclose(
        np.sort(scores), np.sort(ak.to_numpy(ak.flatten(attached))), rtol=1e-5, atol=1e-6
    )


def one_sided(events, cands) -> MethodResult:
    """A 'method' that keeps every candidate on one side of its jet's axis and 2 % of the others:
    the weighted jets' axes move by about half the jet radius."""
    jet = np.repeat(np.arange(len(cands.n_constituents)), cands.n_constituents)
    dphi = (cands.phi[cands.constituent] - cands.jet_phi[jet] + np.pi) % (2 * np.pi) - np.pi
    weights = np.ones(len(cands.pt))
    weights[cands.constituent[dphi < 0]] = 0.02
    return MethodResult(weights, jets_from_weights(cands, weights))


ONE_SIDED = pileup_regression("one_sided", one_sided, weights=True)


def test_a_jet_whose_axis_the_weights_move_keeps_its_constituents(ttbar_mu60):
    """At MU 60 PUPPI moves some jets' axes beyond 0.3 (docs/benchmarks.md): the weighted view
    takes the weighted constituents' axis as the jet's, so the tagger finds them (it refused
    such jets: 'cannot be matched to the FatJetPFCands link table')."""
    from hepml_coffea.features.weighted import weighted_axes

    events = hepml_coffea.attach(open_nanoaod(ttbar_mu60, "eager"), [ONE_SIDED])
    eta, phi = weighted_axes(events, events.PFCands.one_sided_weight)
    jets = events.FatJet
    moved = np.hypot(
        eta - ak.to_numpy(ak.flatten(jets.eta)),
        (phi - ak.to_numpy(ak.flatten(jets.phi)) + np.pi) % (2 * np.pi) - np.pi,
    )
    assert moved.max() > 0.3  # beyond the link matching's radius
    scores = hepml_coffea.attach(events, [compose(get_registry().get("pfn"), ONE_SIDED)])
    values = ak.to_numpy(ak.flatten(scores.FatJet.pfn_one_sided_top))
    assert len(values) == len(moved) and np.all((values >= 0) & (values <= 1))
