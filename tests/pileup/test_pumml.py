"""The PUMML image builder (hepml_coffea.pileup.pumml): pixels, channels, target, weights, and the
network and loss of its training (hepml_coffea.pileup.training)."""

from __future__ import annotations

import numpy as np
import pytest

from hepml_coffea.pileup import pumml
from hepml_coffea.pileup.candidates import JetCandidates
from hepml_coffea.pileup.contract import jets_from_weights

P = pumml.PIXELS


def cands_of(events_cands, events_jets) -> JetCandidates:
    """JetCandidates from per-event lists of (pt, eta, phi, charge, fromPV) and (eta, phi); every
    candidate is a constituent of the first jet of its event (if any)."""
    rows = [c for ev in events_cands for c in ev]
    counts = np.array([len(ev) for ev in events_cands])
    jet_counts = np.array([len(ev) for ev in events_jets])
    pt, eta, phi, charge, from_pv = (np.array([r[i] for r in rows], float) for i in range(5))
    jets = [j for ev in events_jets for j in ev]
    offsets = np.cumsum(counts) - counts
    constituent = np.concatenate(
        [offsets[e] + np.arange(counts[e]) for e in range(len(counts)) if jet_counts[e]]
    ).astype(np.int64)
    n_constituents = np.zeros(len(jets), np.int64)
    jet_offsets = np.cumsum(jet_counts) - jet_counts
    for e in range(len(counts)):
        if jet_counts[e]:
            n_constituents[jet_offsets[e]] = counts[e]
    return JetCandidates(
        counts=counts,
        event=np.repeat(np.arange(len(counts)), counts),
        pt=pt,
        eta=eta,
        phi=phi,
        mass=np.zeros(len(pt)),
        charge=charge.astype(np.int64),
        from_pv=from_pv.astype(np.int64),
        constituent=constituent,
        n_constituents=n_constituents,
        jet_counts=jet_counts,
        jet_eta=np.array([j[0] for j in jets], float),
        jet_phi=np.array([j[1] for j in jets], float),
    )


def pixel_of(deta: float, dphi: float) -> int:
    row = int(np.floor((deta + pumml.HALF_WIDTH) / pumml.PIXEL_SIZE))
    col = int(np.floor((dphi + pumml.HALF_WIDTH) / pumml.PIXEL_SIZE))
    return row * P + col


def test_candidates_go_to_the_nearest_window_and_phi_wraps():
    cands = cands_of(
        [
            [
                (10, 0.01, 0.01, 0, 1),  # at jet 0's axis
                (5, 0.6, 3.1, 1, 3),  # near jet 1 (phi across the pi boundary)
                (3, 0.4, 0.5, 0, 1),  # in jet 0's window only
                (2, 2.5, 0.0, -1, 0),  # in no window
            ],
            [(1, 0.0, 0.0, 0, 1)],  # an event without jets
        ],
        [[(0.0, 0.0), (0.6, -3.1)], []],
    )
    pixels = pumml.assign_pixels(cands)
    assert pixels.n_jets == 2
    np.testing.assert_array_equal(pixels.jet, [0, 1, 0, -1, -1])
    assert pixels.pixel[0] == pixel_of(0.01, 0.01)
    wrapped = np.mod(3.1 - (-3.1) + np.pi, 2 * np.pi) - np.pi  # -0.083
    assert pixels.pixel[1] == pixel_of(0.0, wrapped)
    assert pixels.pixel[3] == -1 and pixels.pixel[4] == -1


def test_overlapping_windows_show_a_candidate_in_both_images_and_weigh_it_by_the_nearer():
    cands = cands_of([[(4, 0.0, 0.72, 0, 1), (3, 0.0, 0.32, 0, 1)]], [[(0.0, 0.0), (0.0, 1.0)]])
    pixels = pumml.assign_pixels(cands)
    np.testing.assert_array_equal(pixels.jet, [1, 0])  # whose predicted share is its weight
    neutral = pumml.images(cands, pixels)[..., 2].reshape(2, P * P)
    # each jet's image holds everything in its window, whichever axis is nearer: removing one
    # jet by a selection does not change the other's image
    assert neutral[0].sum() == pytest.approx(7) and neutral[1].sum() == pytest.approx(7)
    assert neutral[0, pixel_of(0.0, 0.72)] == pytest.approx(4)
    assert neutral[1, pixel_of(0.0, 0.72 - 1.0)] == pytest.approx(4)
    shares = np.zeros((2, P * P))
    shares[1, pixel_of(0.0, 0.72 - 1.0)], shares[0, pixel_of(0.0, 0.32)] = 0.25, 0.5
    np.testing.assert_allclose(pumml.candidate_weights(cands, pixels, shares), [0.25, 0.5])


def test_channels_and_target():
    cands = cands_of(
        [
            [
                (10, 0.01, 0.01, 1, 3),
                (7, 0.01, 0.01, -1, 0),
                (4, 0.01, 0.01, 0, 1),
                (6, 0.01, 0.01, 0, 1),
            ]
        ],
        [[(0.0, 0.0)]],
    )
    pixels = pumml.assign_pixels(cands)
    image = pumml.images(cands, pixels)
    assert image.shape == (1, P, P, 3) and image.dtype == np.float32
    flat = image.reshape(1, P * P, 3)[0]
    k = pixel_of(0.01, 0.01)
    np.testing.assert_allclose(flat[k], [10, 7, 10])  # charged LV, charged PU, all neutral
    assert flat.sum() == pytest.approx(27)
    target = pumml.neutral_lv_target(cands, pixels, np.array([1.0, 0.0, 0.25, 0.5]))
    assert target[0, k] == pytest.approx(4 * 0.25 + 6 * 0.5)
    assert target.sum() == pytest.approx(4.0)
    x = pumml.network_inputs(image)
    np.testing.assert_allclose(x, np.log1p(image))
    assert (x[image == 0] == 0).all()


def test_weights_neutrals_from_their_pixel_charged_as_chs():
    cands = cands_of(
        [
            [
                (10, 0.01, 0.01, 1, 3),
                (7, 0.01, 0.01, -1, 0),
                (4, 0.01, 0.01, 0, 1),
                (3, 0.31, -0.22, 0, 1),
            ]
        ],
        [[(0.0, 0.0)]],
    )
    pixels = pumml.assign_pixels(cands)
    shares = np.zeros((1, P * P))
    shares[0, pixel_of(0.01, 0.01)] = 0.4
    shares[0, pixel_of(0.31, -0.22)] = 1.7  # out of range: clipped
    w = pumml.candidate_weights(cands, pixels, shares)
    np.testing.assert_allclose(w, [1.0, 0.0, 0.4, 1.0])


def test_neutral_outside_every_window_keeps_weight_one():
    cands = cands_of([[(5, 0.0, 0.0, 0, 1), (2, 1.5, 0.0, 0, 1)]], [[(0.0, 0.0)]])
    pixels = pumml.assign_pixels(cands)
    w = pumml.candidate_weights(cands, pixels, np.zeros((1, P * P)))
    np.testing.assert_allclose(w, [0.0, 1.0])


def test_true_shares_give_the_pileup_free_jets(qcd_pu30, read_pileup):
    """Each pixel's true leading-vertex share as weight reproduces FatJet_hard*: the builder's
    target is the truth the evaluation compares with."""
    import awkward as ak

    events = read_pileup(qcd_pu30)
    cands, pixels = pumml.pumml_candidates(events)
    image = pumml.images(cands, pixels)
    neutral = image[..., 2].reshape(pixels.n_jets, -1)
    target = pumml.neutral_lv_target(cands, pixels, pumml.lv_fraction(events))
    share = np.where(neutral > 0, target / np.maximum(neutral, 1e-9), 0.0)
    jets = jets_from_weights(cands, pumml.candidate_weights(cands, pixels, share))
    hard = ak.to_numpy(ak.flatten(events.FatJet.hardMass))
    # a pixel holding two cells of different lvFraction shares one weight: tiny differences
    assert np.median(np.abs(jets.mass - hard)) < 0.05
    assert np.percentile(np.abs(jets.mass - hard), 90) < 1.0
    plain = np.median(np.abs(ak.to_numpy(ak.flatten(events.FatJet.mass)) - hard))
    assert plain > 5


def test_network_and_loss():
    import keras

    from hepml_coffea.pileup.training import build_model, share_loss

    model = build_model()
    x = np.random.default_rng(0).random((3, P, P, 3)).astype(np.float32)
    out = np.asarray(model(x))
    assert out.shape == (3, P * P) and ((out > 0) & (out < 1)).all()
    assert model.count_params() < 50_000  # the paper's network is small; so is ours
    target = np.random.default_rng(1).random((3, P * P)).astype(np.float32)
    neutral = np.random.default_rng(2).random((3, P * P)).astype(np.float32) * 10
    loss = np.asarray(
        share_loss(keras.ops.convert_to_tensor(np.concatenate([target, neutral], 1)), out)
    )
    expected = (neutral * (out - target) ** 2).sum(1) / (neutral.sum(1) + 1e-3)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert len(pumml.pixel_names()) == P * P
