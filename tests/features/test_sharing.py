"""Features shared between plugins attached together are built once, without changing any column."""

import dataclasses

import awkward as ak
import numpy as np
import pytest

from hepml_coffea import PluginDefinitionError, attach, get_registry
from hepml_coffea.events import open_nanoaod
from hepml_coffea.features import jet_constituents, particle_cloud, shared, shared_features

CLOUD_TAGGERS = ["pfn", "pfn_md", "efn", "particlenet_lite"]


def _events(path, mode="virtual"):
    return open_nanoaod(path, mode)


def test_a_shared_builder_runs_once_per_source_and_arguments_inside_a_scope():
    calls = []

    @shared
    def doubled(source, factor=2):
        calls.append((id(source), factor))
        return np.asarray(source) * factor

    first, second = np.arange(3.0), np.arange(3.0)
    doubled(first), doubled(first)
    assert len(calls) == 2, "outside a scope every call computes"
    calls.clear()
    with shared_features():
        a = doubled(first)
        assert doubled(first) is a
        doubled(second)
        doubled(first, 3)
        with shared_features():  # a nested scope starts empty
            doubled(first)
    assert len(calls) == 4
    assert not a.flags.writeable, "a cached array must not be modifiable by the next plugin"
    with shared_features():
        assert doubled(first) is not a, "a new scope recomputes"


def test_cached_constituents_are_read_only(generated_ttbar_qcd):
    events = _events(generated_ttbar_qcd[0])
    with shared_features():
        constituents = jet_constituents(events, "FatJet")
        assert jet_constituents(events, "FatJet") is constituents
        with pytest.raises(ValueError, match="read-only"):
            constituents.pt[0] = 0.0
    assert jet_constituents(events, "FatJet").pt.flags.writeable


def test_attaching_together_builds_the_cloud_once_and_matches_attaching_one_by_one(
    generated_ttbar_qcd,
):
    calls = []

    @shared
    def counted_cloud(events):
        calls.append(1)
        return particle_cloud(events)

    registry = get_registry()
    plugins = [
        dataclasses.replace(registry.get(name), features=counted_cloud) for name in CLOUD_TAGGERS
    ]
    together = attach(_events(generated_ttbar_qcd[0]), plugins).FatJet
    assert len(calls) == 1
    for plugin in plugins:
        alone = attach(_events(generated_ttbar_qcd[0]), [plugin]).FatJet
        column = plugin.column_names[0]
        assert ak.all(together[column] == alone[column]), column
    assert len(calls) == 1 + len(plugins)


def test_plugins_declaring_different_branches_still_share_what_they_build(generated_ttbar_qcd):
    """Each plugin's feature builder sees only its declared branches (hepml_coffea.branches), in a
    view of its own; shared builders treat every view of one events object as those events."""
    calls = []

    @shared
    def counted_cloud(events):
        calls.append(1)
        return particle_cloud(events)

    pfn = dataclasses.replace(get_registry().get("pfn"), features=counted_cloud)
    with_mass = dataclasses.replace(
        pfn,
        name="pfn_reading_msoftdrop",
        required_branches=(*pfn.required_branches, "FatJet_msoftdrop"),
    )
    jets = attach(_events(generated_ttbar_qcd[0]), [pfn, with_mass]).FatJet
    assert len(calls) == 1
    assert ak.all(jets.pfn_top == jets.pfn_reading_msoftdrop_top)


def test_dask_runs_the_plugins_of_one_collection_as_one_task_per_partition(generated_ttbar_qcd):
    # pfn_ddt also reads FatJet_msoftdrop: dask must load it because the plugin declares it
    names = ["cutbased", "pfn", "pfn_ddt", "efn"]
    events = _events(generated_ttbar_qcd[1], mode="dask")
    tagged = attach(events, names)
    layers = [name for name in tagged.dask.layers if name.startswith("hepml-")]
    assert len(layers) == 1 and all(n.replace("_", "-") in layers[0] for n in names), layers
    eager = attach(_events(generated_ttbar_qcd[1], mode="eager"), names).FatJet
    computed = tagged.FatJet.compute()
    for column in ("cutbased_top", "pfn_top", "pfn_ddt_top", "efn_top"):
        assert ak.all(ak.isclose(computed[column], eager[column], rtol=1e-6)), column


def test_two_different_plugins_with_one_name_are_refused(generated_ttbar_qcd):
    registry = get_registry()
    impostor = dataclasses.replace(registry.get("efn"), name="pfn")
    with pytest.raises(PluginDefinitionError, match="both named 'pfn'"):
        attach(_events(generated_ttbar_qcd[0]), [registry.get("pfn"), impostor])
    tagged = attach(
        _events(generated_ttbar_qcd[0]), ["pfn", "pfn"]
    )  # the same plugin twice is fine
    assert "pfn_top" in tagged.FatJet.fields
