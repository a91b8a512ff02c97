"""Reproducibility, parallel jobs, atomic writes, the cache and generator-level output."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

from hepml_coffea.samples import SampleConfig, cached_sample, generate_sample, sample_name
from hepml_coffea.samples import generate as gen_mod


def _arrays(path):
    with uproot.open(path) as f:
        return f["Events"].arrays(
            ["FatJet_pt", "FatJet_msoftdrop", "PFCands_pt", "GenPart_pt", "event"]
        )


def test_same_seed_same_content_different_seed_different(tmp_path):
    a = generate_sample("ttbar", 20, tmp_path / "a.root", seed=7, chunk_size=8, progress=False)
    b = generate_sample("ttbar", 20, tmp_path / "b.root", seed=7, chunk_size=8, progress=False)
    c = generate_sample("ttbar", 20, tmp_path / "c.root", seed=8, chunk_size=8, progress=False)
    assert ak.to_list(_arrays(a)) == ak.to_list(_arrays(b))
    assert ak.to_list(_arrays(a).GenPart_pt) != ak.to_list(_arrays(c).GenPart_pt)


def test_parallel_jobs_reproducible(tmp_path):
    a = generate_sample(
        "qcd", 30, tmp_path / "a.root", seed=3, jobs=2, chunk_size=10, progress=False
    )
    b = generate_sample(
        "qcd", 30, tmp_path / "b.root", seed=3, jobs=2, chunk_size=10, progress=False
    )
    arr = _arrays(a)
    assert len(arr) == 30
    np.testing.assert_array_equal(ak.to_numpy(arr.event), np.arange(1, 31))
    assert ak.to_list(arr) == ak.to_list(_arrays(b))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.root", "b.root"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_write_leaves_no_file(tmp_path, monkeypatch, error):
    calls = {"n": 0}
    real = gen_mod.cluster_fatjets

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(gen_mod, "cluster_fatjets", failing)
    out = tmp_path / "broken.root"
    with pytest.raises(type(error)):
        generate_sample("qcd", 20, out, seed=1, chunk_size=10, progress=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary leftovers either


def test_cached_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("HEPML_COFFEA_CACHE", str(tmp_path / "cache"))
    p1 = cached_sample("qcd", 10, seed=4)
    expected = SampleConfig("qcd", 10, output=tmp_path / "any.root", seed=4)
    assert p1.parent == tmp_path / "cache" and p1.name == sample_name(expected)
    mtime = p1.stat().st_mtime_ns
    p2 = cached_sample("qcd", 10, seed=4)
    assert p2 == p1 and p2.stat().st_mtime_ns == mtime
    assert cached_sample("qcd", 10, seed=4, pileup=2.0).name != p1.name


def test_generator_level_and_wprime(tmp_path, read_nano):
    path = generate_sample(
        "wprime", 30, tmp_path / "wp.root", seed=2, detector="none", progress=False
    )
    ev = read_nano(path)
    labels = ak.to_numpy(ak.flatten(ev.FatJet.truthLabel))
    assert {2, 3} & set(labels.tolist())
    pf = ev.PFCands
    # generator level: real hadrons (not calorimeter cells), no neutrinos
    assert ak.any(abs(ak.flatten(pf.pdgId)) == 211)
    assert not ak.any(np.isin(abs(ak.to_numpy(ak.flatten(pf.pdgId))), [12, 14, 16]))


def test_worker_failure_in_parallel_leaves_no_file(tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("worker boom")

    monkeypatch.setattr(gen_mod, "cluster_fatjets", failing)  # inherited by forked workers
    out = tmp_path / "par.root"
    with pytest.raises(RuntimeError, match="worker boom"):
        generate_sample("qcd", 10, out, seed=1, jobs=2, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_minbias_without_jets(tmp_path):
    path = generate_sample("minbias", 10, tmp_path / "mb.root", seed=1, progress=False)
    arr = _arrays(path)
    assert len(arr) == 10
    assert ak.sum(ak.num(arr.FatJet_pt)) == 0 and ak.sum(ak.num(arr.GenPart_pt)) == 0


def test_a_setting_pythia_refuses_is_a_clear_error():
    from hepml_coffea.errors import HepmlCoffeaError
    from hepml_coffea.samples import PythiaError
    from hepml_coffea.samples.pythia_events import PythiaGenerator

    with pytest.raises(PythiaError, match=r"rejected the setting 'HardQCD:everything = on'"):
        PythiaGenerator(["HardQCD:everything = on"], seed=1)
    assert issubclass(PythiaError, HepmlCoffeaError)  # the CLI prints it as one line
