"""Constituents followed through the PFNano link table, on generated and real CMS files."""

import awkward as ak
import numpy as np
import pytest
from real_cms import open_events

from hepml_coffea.errors import InvalidInputError
from hepml_coffea.events import open_nanoaod
from hepml_coffea.features.constituents import (
    Constituents,
    jet_constituents,
    oriented_coordinates,
    pad,
)


@pytest.fixture(scope="module")
def ttbar_events(generated_ttbar_qcd):
    return open_nanoaod(generated_ttbar_qcd[0], "eager")


def test_constituents_match_coffea_links_and_jet_branches(ttbar_events):
    c = jet_constituents(ttbar_events)
    jets = ak.flatten(ttbar_events.FatJet)
    assert np.array_equal(c.counts, ak.to_numpy(jets.nConstituents))
    # coffea's own linking (works on our files) gives the same candidates
    coffea_pt = ak.to_numpy(
        ak.flatten(
            ak.sort(ak.flatten(ttbar_events.FatJet.constituents.pf.pt, axis=1), ascending=False),
            axis=None,
        )
    )
    assert np.allclose(c.pt, coffea_pt)
    # sorted by jet, then by decreasing pT; position restarts at 0 in every jet
    assert np.all(np.diff(c.jet) >= 0)
    same_jet = np.diff(c.jet) == 0
    assert np.all(np.diff(c.pt)[same_jet] <= 0)
    assert np.all(c.position[np.r_[True, ~same_jet]] == 0)
    # the constituents' four-momenta add up to the jet's pT and mass
    px = np.bincount(c.jet, c.pt * np.cos(c.dphi))
    py = np.bincount(c.jet, c.pt * np.sin(c.dphi))
    assert np.allclose(np.hypot(px, py), ak.to_numpy(jets.pt), rtol=1e-4)
    # clustering is in rapidity: only soft massive hadrons may sit beyond R = 0.8 in pseudorapidity
    outside = np.hypot(c.deta, c.dphi) > 0.8
    assert outside.mean() < 0.05 and np.all(c.pt[outside] < 0.1 * c.jet_pt[c.jet[outside]])


def test_constituents_on_real_cms_pfnano_where_coffea_cannot_link():
    events = open_events("pfnano")
    with pytest.raises(RuntimeError):
        events.FatJet.constituents  # noqa: B018 - coffea needs FatJet_pFCandsIdx, absent here
    c = jet_constituents(events)
    assert c.n_jets == 24 and c.counts.min() > 10
    # CMS jets are PUPPI-weighted, so the raw candidates carry somewhat more pT than the jet
    ratio = np.bincount(c.jet, c.pt) / c.jet_pt
    assert np.all((ratio > 0.7) & (ratio < 1.5))


def test_a_link_outside_the_event_is_an_error(ttbar_events):
    links = ttbar_events.FatJetPFCands
    broken = ak.with_field(
        ttbar_events, ak.with_field(links, links.pFCandsIdx + 10_000, "pFCandsIdx"), "FatJetPFCands"
    )
    with pytest.raises(InvalidInputError, match="FatJetPFCands links point outside"):
        jet_constituents(broken)


def test_pad_keeps_leading_constituents_and_zero_fills(ttbar_events):
    c = jet_constituents(ttbar_events)
    padded = pad(c, c.pt[:, None], 20)
    first = c.jet == 0
    expected = np.zeros(20)
    n = min(20, first.sum())
    expected[:n] = c.pt[first][:n]
    assert np.allclose(padded[0, :, 0], expected)
    assert padded.shape == (c.n_jets, 20, 1)


def _synthetic(deta, dphi, pt):
    n = len(pt)
    return Constituents(
        jet=np.zeros(n, int),
        position=np.arange(n),
        counts=np.array([n]),
        pt=pt,
        deta=deta,
        dphi=dphi,
        energy=pt,
        charge=np.zeros(n),
        pdg_id=np.zeros(n, int),
        jet_pt=np.array([pt.sum()]),
        jet_energy=np.array([pt.sum()]),
    )


@pytest.mark.parametrize("seed", range(5))
def test_deeptop_orientation_undoes_translation_rotation_and_reflection(seed):
    rng = np.random.default_rng(seed)
    deta, dphi = rng.normal(0, 0.2, 30), rng.normal(0, 0.1, 30)
    pt = rng.exponential(20, 30)
    reference = oriented_coordinates(_synthetic(deta, dphi, pt))
    angle = rng.uniform(0, 2 * np.pi)
    x = np.cos(angle) * deta - np.sin(angle) * dphi + 0.1
    y = np.sin(angle) * deta + np.cos(angle) * dphi - 0.05
    moved = oriented_coordinates(_synthetic(-x, y, pt))  # rotated, shifted and mirrored
    assert np.allclose(moved[0], reference[0], atol=1e-9) and np.allclose(
        moved[1], reference[1], atol=1e-9
    )
    x, y = reference
    assert np.isclose(np.sum(pt * x), 0, atol=1e-9) and np.isclose(np.sum(pt * y), 0, atol=1e-9)
    assert np.sum(pt * y * y) >= np.sum(pt * x * x)  # principal axis vertical
    assert np.sum(pt * x**3) >= 0 and np.sum(pt * y**3) >= 0
