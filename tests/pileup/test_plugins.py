"""The pileup-regression plugins through ``attach``: every mode alike, the columns on both
collections, events without pileup (nearly) unchanged, and a clear error on other files."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepml_coffea
from hepml_coffea import PluginKind, get_registry
from hepml_coffea.data import cms_file
from hepml_coffea.errors import HepmlCoffeaError

PILEUP = ("chs", "area", "softkiller", "puppi", "pumml")
WEIGHTED = ("chs", "softkiller", "puppi", "pumml")
#: the methods whose weights are exactly 1 without pileup (pumml's network predicts a share
#: close to, not exactly, 1: tested separately)
EXACT_WITHOUT_PILEUP = ("chs", "softkiller", "puppi")


def columns(events, mode):
    out = hepml_coffea.attach(events, list(PILEUP))
    cols = {f"{m}_{q}": out.FatJet[f"{m}_{q}"] for m in PILEUP for q in ("pt", "mass", "msoftdrop")}
    cols |= {f"{m}_weight": out.PFCands[f"{m}_weight"] for m in WEIGHTED}
    if mode == "dask":
        import dask

        cols = dict(zip(cols, dask.compute(*cols.values()), strict=True))
    return {k: ak.to_numpy(ak.flatten(v)) for k, v in cols.items()}, out


def test_registered_as_pileup_regressions():
    registry = get_registry()
    for name in PILEUP:
        plugin = registry.get(name)
        assert plugin.kind == PluginKind.PILEUP_REGRESSION
        assert plugin.collection == "FatJet"
        names = {plugin.output_collection(o) + "." + plugin.column_name(o) for o in plugin.outputs}
        expected = {f"FatJet.{name}_{q}" for q in ("pt", "mass", "msoftdrop")}
        assert names == expected | ({f"PFCands.{name}_weight"} if name in WEIGHTED else set())


def test_every_mode_gives_the_same_columns(qcd_pu30, read_pileup):
    eager, out = columns(read_pileup(qcd_pu30, "eager"), "eager")
    assert ak.all(ak.num(out.PFCands.chs_weight) == ak.num(out.PFCands))
    for mode in ("virtual", "dask"):
        other, _ = columns(read_pileup(qcd_pu30, mode), mode)
        for key, values in eager.items():
            np.testing.assert_array_equal(values, other[key], err_msg=f"{mode} {key}")


def test_mitigation_moves_jets_towards_the_truth(qcd_pu30, read_pileup):
    events = read_pileup(qcd_pu30)
    cols, _ = columns(events, "eager")
    hard = ak.to_numpy(ak.flatten(events.FatJet.hardMass))
    plain = np.median(np.abs(ak.to_numpy(ak.flatten(events.FatJet.mass)) - hard))
    for name in PILEUP:
        assert np.median(np.abs(cols[f"{name}_mass"] - hard)) < 0.7 * plain, name


def test_events_without_pileup_come_out_unchanged(qcd_pu0, read_pileup):
    events = read_pileup(qcd_pu0)
    cols, _ = columns(events, "eager")
    for name in EXACT_WITHOUT_PILEUP:
        assert np.mean(cols[f"{name}_weight"] == 1) > 0.99, name
        for q in ("pt", "mass", "msoftdrop"):
            stored = ak.to_numpy(ak.flatten(events.FatJet[q]))
            assert np.median(np.abs(cols[f"{name}_{q}"] / np.maximum(stored, 1) - 1)) < 1e-4
    # pumml: charged candidates exactly as CHS, neutral shares near 1, jets within a few percent
    charged = ak.to_numpy(ak.flatten(events.PFCands.charge)) != 0
    np.testing.assert_array_equal(cols["pumml_weight"][charged], 1.0)
    assert np.median(cols["pumml_weight"][~charged]) > 0.9
    for q in ("pt", "mass"):
        stored = ak.to_numpy(ak.flatten(events.FatJet[q]))
        assert np.median(np.abs(cols[f"pumml_{q}"] / np.maximum(stored, 1) - 1)) < 0.03, q
    # area-median subtracts the event's (small) underlying-event rho x A, no more
    stored_pt = ak.to_numpy(ak.flatten(events.FatJet.pt))
    assert np.all(stored_pt - cols["area_pt"] < 15) and np.all(cols["area_pt"] <= stored_pt + 1e-3)


@pytest.mark.parametrize("name", PILEUP)
def test_file_without_pileup_branches_is_one_clear_line(name, read_pileup):
    events = read_pileup(cms_file("pfnano"), "virtual")
    with pytest.raises(HepmlCoffeaError) as info:
        hepml_coffea.attach(events, [name])
    message = str(info.value)
    assert "\n" not in message
    assert repr(name) in message and "hepml-coffea generate" in message
    assert "PFCands_fromPV" in message or "FatJet_area" in message


def test_no_tensorflow_while_building_a_pumml_dask_graph(qcd_pu30):
    """pumml declares its output types: building its dask graph loads no model (the CMS-file
    version of this check in tests/test_lazy_imports.py cannot run pumml, which needs the
    generated samples' pileup branches)."""
    import subprocess
    import sys

    code = f"""
import sys
import hepml_coffea
from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema
events = NanoEventsFactory.from_root(
    {{{str(qcd_pu30)!r}: "Events"}}, schemaclass=PFNanoAODSchema, mode="dask"
).events()
out = hepml_coffea.attach(events, ["pumml"])
assert "pumml_mass" in out.FatJet.fields and "pumml_weight" in out.PFCands.fields
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))[:3])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip().splitlines()[-1] == "LOADED []", result.stdout
