"""Event-level plugins (``Plugin(collection=None)``): one row of features per event and columns on
the events themselves, identical in eager, virtual and dask mode, through attach and the
processor."""

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

import hepml_coffea
from hepml_coffea import InvalidInputError, Output, Plugin
from hepml_coffea.plugin import EVENT_LEVEL


def fatjet_ht_and_count(events) -> np.ndarray:
    jets = events.FatJet
    return np.stack(
        [ak.to_numpy(ak.sum(jets.pt, axis=1)), ak.to_numpy(ak.num(jets, axis=1))], axis=1
    ).astype(np.float32)


HT = Plugin(
    name="fatjet_ht",
    kind="tagger",
    collection=EVENT_LEVEL,
    required_branches=("FatJet_pt",),
    outputs=(Output("ht", range=(0.0, 3000.0)), Output("count", range=(0.0, 10.0))),
    features=fatjet_ht_and_count,
)


def columns(mode: str, plugins=(HT,)):
    events = hepml_coffea.attach(open_events("pfnano", mode), list(plugins))
    values = (events.fatjet_ht_ht, events.fatjet_ht_count)
    if mode == "dask":
        import dask

        values = dask.compute(*values)
    return [ak.to_numpy(v) for v in values]


def test_event_level_columns_are_on_the_events_in_every_mode():
    events = open_events("pfnano")
    ht, count = columns("eager")
    np.testing.assert_allclose(ht, ak.to_numpy(ak.sum(events.FatJet.pt, axis=1)), rtol=1e-6)
    np.testing.assert_array_equal(count, ak.num(events.FatJet, axis=1))
    assert len(ht) == len(events)
    for mode in ("virtual", "dask"):
        for eager, other in zip((ht, count), columns(mode), strict=True):
            np.testing.assert_array_equal(eager, other, err_msg=mode)


def test_event_level_and_jet_plugins_attach_together():
    events = hepml_coffea.attach(open_events("pfnano"), [HT, "cutbased"])
    assert "fatjet_ht_ht" in events.fields and "cutbased_top" in events.FatJet.fields


def test_a_feature_row_per_jet_for_an_event_level_plugin_is_refused():
    per_jet = Plugin(
        name="per_jet",
        kind="tagger",
        collection=EVENT_LEVEL,
        required_branches=("FatJet_pt",),
        outputs=(Output("x", range=(0.0, 3000.0)),),
        features=lambda events: ak.to_numpy(ak.flatten(events.FatJet.pt))[:, None],
    )
    with pytest.raises(
        InvalidInputError, match=r"'per_jet'.*rows for 10 events.*one row per event"
    ):
        hepml_coffea.attach(open_events("pfnano"), [per_jet])


@pytest.mark.parametrize("executor", ["iterative", "dask"])
def test_the_processor_histograms_event_level_outputs(executor):
    from hepml_processors import TaggingProcessor

    from hepml_coffea.data import cms_file
    from hepml_coffea.executors import run_processor

    fileset = {"cms": {"files": {str(cms_file("pfnano")): "Events"}}}
    output = run_processor(
        TaggingProcessor([HT, "cutbased"]),
        fileset,
        executor=executor,
        workers=1,
        chunksize=5,
        progress=False,
    )
    ht = output["hists"]["events.fatjet_ht_ht"][{"dataset": "cms"}]
    assert ht.sum(flow=True).value == pytest.approx(10)  # one entry per event
    assert "cutbased_top" in output["hists"]
