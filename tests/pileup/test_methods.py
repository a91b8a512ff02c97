"""The physics of each baseline, on real generated pileup and on constructed inputs."""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.pileup.area import subtract
from hepml_coffea.pileup.candidates import jet_candidates
from hepml_coffea.pileup.chs import chs_weights
from hepml_coffea.pileup.puppi import puppi_weights
from hepml_coffea.pileup.softkiller import lower_median, patch_maxima, softkiller_cut


def test_chs_removes_exactly_the_charged_pileup(qcd_pu30, read_pileup):
    events = read_pileup(qcd_pu30)
    cands = jet_candidates(events)
    w = chs_weights(cands)
    pf = events.PFCands
    charged_pu = ak.to_numpy(ak.flatten((pf.charge != 0) & (pf.fromPV == 0)))
    from_lv = ak.to_numpy(ak.flatten(pf.fromLV)).astype(bool)
    assert charged_pu.sum() > 100
    assert np.array_equal(w == 0, charged_pu)
    # every charged candidate CHS keeps is from the leading vertex (perfect vertexing)
    charged = ak.to_numpy(ak.flatten(pf.charge != 0))
    assert np.all(from_lv[charged & (w == 1)])


def test_softkiller_cut_is_the_smallest_that_empties_half_the_patches():
    rng = np.random.default_rng(7)
    counts = rng.integers(400, 3000, 25)
    n = counts.sum()
    pt = rng.exponential(1.0, n)
    eta, phi = rng.uniform(-3, 3, n), rng.uniform(-np.pi, np.pi, n)
    cut = softkiller_cut(counts, pt, eta, phi)
    event = np.repeat(np.arange(len(counts)), counts)
    keep = pt > cut[event]
    after = patch_maxima(
        np.bincount(event[keep], minlength=len(counts)), pt[keep], eta[keep], phi[keep]
    )
    assert np.all(lower_median(after) == 0)
    # any smaller cut leaves more than half the patches occupied
    maxima = patch_maxima(counts, pt, eta, phi)
    below = np.array(
        [np.max(row[row < c], initial=0.0) for row, c in zip(maxima, cut, strict=True)]
    )
    busy = np.array([(row > b).mean() for row, b in zip(maxima, below, strict=True)])
    assert np.all(busy[cut > 0] > 0.5)
    assert np.all(cut > 0)  # dense events: the cut is a real cut


def test_puppi_weights(qcd_pu30, qcd_pu0, read_pileup):
    events = read_pileup(qcd_pu30)
    cands = jet_candidates(events)
    w = puppi_weights(cands)
    pf = events.PFCands
    from_pv = ak.to_numpy(ak.flatten(pf.fromPV))
    assert np.all(w[from_pv == 3] == 1) and np.all(w[from_pv == 0] == 0)
    neutral = from_pv == 1
    assert np.all((w[neutral] >= 0) & (w[neutral] <= 1))
    # neutral cells mostly from the leading vertex keep far more weight than pileup cells
    fraction = ak.to_numpy(ak.flatten(pf.lvFraction))
    hard, soft = neutral & (fraction > 0.9), neutral & (fraction < 0.1)
    assert hard.sum() > 50 and soft.sum() > 50
    assert w[hard].mean() > 0.5 > 0.2 > w[soft].mean()
    # without pileup nothing calibrates PUPPI: every candidate keeps weight 1
    assert np.all(puppi_weights(jet_candidates(read_pileup(qcd_pu0))) == 1)


def test_area_subtraction():
    rng = np.random.default_rng(1)
    pt, y, phi, m = (
        rng.uniform(400, 700, 50),
        rng.uniform(-2, 2, 50),
        rng.uniform(-3, 3, 50),
        rng.uniform(20, 200, 50),
    )
    mt = np.hypot(pt, m)
    p = (pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y))
    zero = np.zeros(50)
    same_pt, same_m = subtract(*p, np.full(50, 2.0), np.full(50, 1.1), zero, zero)
    np.testing.assert_allclose(same_pt, pt, rtol=1e-9)
    np.testing.assert_allclose(same_m, m, rtol=1e-6)
    sub_pt, sub_m = subtract(
        *p, np.full(50, 2.0), np.full(50, 1.1), np.full(50, 20.0), np.full(50, 2.0)
    )
    np.testing.assert_allclose(sub_pt, pt - 40.0, rtol=1e-9)  # rho x A along the jet
    assert np.all(sub_m < m)
