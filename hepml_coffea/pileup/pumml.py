"""PUMML images (Komiske, Metodiev, Nachman, Schwartz, arXiv:1707.08600), shared by training and
inference, and the mapping of the network's per-pixel prediction back onto the candidates.

Around every jet axis a square window of ``2 HALF_WIDTH`` in (eta, phi) is divided into
``PIXELS x PIXELS`` pixels. Every stored candidate inside a jet's window adds its pT to one of
three channels of that jet's image (a candidate between two close jets is in both images, so a
jet's image does not depend on which other jets were selected):

* ``charged_lv_pt``: charged candidates from the leading vertex (everything CHS keeps),
* ``charged_pu_pt``: charged candidates from pileup vertices (``PFCands_fromPV == 0``),
* ``neutral_pt``: all neutral candidates (calorimeter cells, leading vertex and pileup mixed).

The regression target is the neutral leading-vertex pT per pixel, ``sum neutral pT x
PFCands_lvFraction``. The network sees ``log(1 + pT / GeV)`` of the three channels
(:func:`network_inputs`) and predicts, per pixel, the leading-vertex *share* of the neutral pT
in [0, 1] (a sigmoid): the predicted neutral leading-vertex pT is that share times the pixel's
neutral pT. This differs from the paper's direct non-negative pT output: predicting the share
keeps the prediction between 0 and the measured neutral pT by construction, and a pixel without
neutral pT predicts nothing.

A candidate's weight (``PFCands.pumml_weight``) is then: for a neutral candidate the predicted
share of its pixel in the image of its nearest jet axis, clipped to [0, 1]; for a charged candidate its vertex association, as CHS (1
leading vertex, 0 pileup). A neutral candidate in no jet's window (it is no constituent of a
jet, since constituents lie within ~R = 0.8 of the axis) keeps weight 1, as under CHS. Pixels are
0.05 wide, finer than the 0.087 calorimeter cells, so a pixel rarely holds two neutral cells and
its share is nearly the candidate's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepml_coffea.features.sharing import shared
from hepml_coffea.pileup.candidates import JetCandidates, jet_candidates
from hepml_coffea.pileup.chs import charged_pileup, chs_weights

PIXELS = 40
HALF_WIDTH = 1.0
PIXEL_SIZE = 2 * HALF_WIDTH / PIXELS
CHANNELS = ("charged_lv_pt", "charged_pu_pt", "neutral_pt")
#: the branch of the regression target, read by training only (inference never needs truth)
TARGET_BRANCH = "PFCands_lvFraction"


def pixel_names() -> list[str]:
    """One name per pixel of the network's output (row = eta, column = phi), as in the card."""
    return [f"share_eta{row:02d}_phi{col:02d}" for row in range(PIXELS) for col in range(PIXELS)]


@dataclass(frozen=True)
class JetPixels:
    """Where the candidates land: every (candidate, jet window) pair for the images, and per
    candidate its nearest window-holding jet (-1: none) and pixel there, for its weight."""

    jet: np.ndarray  # per candidate, index into the jets flattened over events, or -1
    pixel: np.ndarray  # per candidate, row * PIXELS + column, or -1
    n_jets: int
    pair_candidate: np.ndarray  # per (candidate, window) pair: the candidate
    pair_flat_pixel: np.ndarray  # per pair: jet * PIXELS**2 + pixel

    @property
    def inside(self) -> np.ndarray:
        return self.jet >= 0


def assign_pixels(cands: JetCandidates) -> JetPixels:
    """Place every candidate in the window of each jet axis of its event that holds it, and find
    the nearest of those axes."""
    n_jets = len(cands.jet_eta)
    n_cands = len(cands.pt)
    jet_offsets = np.cumsum(cands.jet_counts) - cands.jet_counts
    # every (candidate, jet of its event) pair, candidate-major
    per_cand = cands.jet_counts[cands.event]
    cand = np.repeat(np.arange(n_cands), per_cand)
    pair_start = np.cumsum(per_cand) - per_cand
    jet = jet_offsets[cands.event][cand] + (np.arange(len(cand)) - pair_start[cand])
    deta = cands.eta[cand] - cands.jet_eta[jet]
    dphi = np.mod(cands.phi[cand] - cands.jet_phi[jet] + np.pi, 2 * np.pi) - np.pi
    row = np.floor((deta + HALF_WIDTH) / PIXEL_SIZE).astype(np.int64)
    col = np.floor((dphi + HALF_WIDTH) / PIXEL_SIZE).astype(np.int64)
    ok = (row >= 0) & (row < PIXELS) & (col >= 0) & (col < PIXELS)
    dr2 = np.where(ok, deta**2 + dphi**2, np.inf)
    # nearest window-holding jet per candidate: sort pairs by (candidate, dR) and take the first
    order = np.lexsort((dr2, cand))
    first = np.ones(len(order), bool)
    first[1:] = cand[order][1:] != cand[order][:-1]
    best = order[first]
    out_jet = np.full(n_cands, -1, np.int64)
    out_pixel = np.full(n_cands, -1, np.int64)
    good = ok[best]
    out_jet[cand[best][good]] = jet[best][good]
    out_pixel[cand[best][good]] = (row * PIXELS + col)[best][good]
    flat = jet * PIXELS * PIXELS + row * PIXELS + col
    return JetPixels(out_jet, out_pixel, n_jets, cand[ok], flat[ok])


def _channel_masks(cands: JetCandidates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pileup = charged_pileup(cands)
    neutral = cands.charge == 0
    return ~neutral & ~pileup, pileup, neutral


def pixel_sums(pixels: JetPixels, values: np.ndarray) -> np.ndarray:
    """``(n_jets, PIXELS * PIXELS)`` sum of ``values`` (one per candidate) per pixel of every
    window holding the candidate."""
    n = pixels.n_jets * PIXELS * PIXELS
    weights = np.asarray(values)[pixels.pair_candidate]
    summed = np.bincount(pixels.pair_flat_pixel, weights, minlength=n)
    return summed.reshape(pixels.n_jets, PIXELS * PIXELS)


def images(cands: JetCandidates, pixels: JetPixels) -> np.ndarray:
    """``(n_jets, PIXELS, PIXELS, 3)`` float32 pT images (GeV), channels :data:`CHANNELS`.

    19.2 kB per jet; filled channel by channel so that at most one float64 channel (12.8 kB per
    jet) exists beside it."""
    out = np.empty((pixels.n_jets, PIXELS * PIXELS, len(CHANNELS)), np.float32)
    for channel, mask in enumerate(_channel_masks(cands)):
        out[:, :, channel] = pixel_sums(pixels, np.where(mask, cands.pt, 0.0))
    return out.reshape(pixels.n_jets, PIXELS, PIXELS, len(CHANNELS))


def neutral_lv_target(
    cands: JetCandidates, pixels: JetPixels, lv_fraction: np.ndarray
) -> np.ndarray:
    """``(n_jets, PIXELS * PIXELS)`` neutral leading-vertex pT per pixel: the regression target."""
    neutral = cands.charge == 0
    return pixel_sums(pixels, np.where(neutral, cands.pt * lv_fraction, 0.0)).astype(np.float32)


def network_inputs(pt_images: np.ndarray) -> np.ndarray:
    """What the network reads: ``log(1 + pT / GeV)`` per pixel and channel (zeros stay zeros)."""
    return np.log1p(np.asarray(pt_images, np.float32))


@shared
def pumml_candidates(events) -> tuple[JetCandidates, JetPixels]:
    """The candidates of ``events`` and their pixels, built once per chunk when shared."""
    cands = jet_candidates(events, "FatJet")
    return cands, assign_pixels(cands)


def pumml_features(events) -> np.ndarray:
    """The plugin's feature builder: the network input of every jet of ``events``."""
    cands, pixels = pumml_candidates(events)
    return network_inputs(images(cands, pixels))


def candidate_weights(cands: JetCandidates, pixels: JetPixels, shares: np.ndarray) -> np.ndarray:
    """Per candidate: the predicted leading-vertex share of its pixel for a neutral one (clipped
    to [0, 1]; 1 outside every window), the vertex association for a charged one.

    :param shares: ``(n_jets, PIXELS * PIXELS)`` predicted share per pixel
    """
    shares = np.asarray(shares).reshape(pixels.n_jets * PIXELS * PIXELS)
    w = chs_weights(cands)
    neutral_inside = (cands.charge == 0) & pixels.inside
    flat = (pixels.jet * PIXELS * PIXELS + pixels.pixel)[neutral_inside]
    w[neutral_inside] = np.clip(shares[flat].astype(np.float64), 0.0, 1.0)
    return w


def lv_fraction(events) -> np.ndarray:
    """``PFCands_lvFraction`` flat over events (training only)."""
    return ak.to_numpy(ak.flatten(events["PFCands"]["lvFraction"], axis=1)).astype(np.float64)


class PummlColumns:
    """The plugin's postprocess (``postprocess_events``): per-pixel shares of every jet -> the
    candidates' weights and the jets rebuilt from them (:func:`jets_from_weights`).

    A class (not a closure) so that the plugin pickles to worker processes."""

    def __call__(self, shares: np.ndarray, events) -> dict[str, np.ndarray]:
        from hepml_coffea.pileup.contract import jets_from_weights

        cands, pixels = pumml_candidates(events)
        weights = candidate_weights(cands, pixels, shares)
        jets = jets_from_weights(cands, weights)
        return {"pt": jets.pt, "mass": jets.mass, "msoftdrop": jets.msoftdrop, "weight": weights}
