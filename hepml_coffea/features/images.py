"""Jet images with the DeepTop preprocessing (Macaluso & Shih, arXiv:1803.00107).

Constituents are centred, rotated and flipped (:func:`oriented_coordinates`) and binned into a
square grid with three channels, as in DeepTop's colour images:

* neutral pT (photons and neutral hadrons, what the calorimeter sees),
* charged pT (tracks),
* charged multiplicity (number of tracks per pixel).

The pT channels are divided by the jet's total constituent pT, so a pixel holds a pT fraction.
"""

from __future__ import annotations

import numpy as np

from hepml_coffea.features.constituents import jet_constituents, oriented_coordinates
from hepml_coffea.features.sharing import shared

IMAGE_CHANNELS = ("neutral_pt_fraction", "charged_pt_fraction", "charged_multiplicity")
DEFAULT_PIXELS = 32
DEFAULT_HALF_WIDTH = 0.8  # the image spans [-0.8, 0.8] in both directions: an R = 0.8 jet


@shared
def jet_images(
    events,
    collection: str = "FatJet",
    pixels: int = DEFAULT_PIXELS,
    half_width: float = DEFAULT_HALF_WIDTH,
) -> np.ndarray:
    """``(n_jets, pixels, pixels, 3)`` float32 images, axes (y, x, channel), y pointing up the
    principal axis. Constituents outside the window (possible after rotation) are dropped."""
    c = jet_constituents(events, collection)
    x, y = oriented_coordinates(c)
    pixel = 2 * half_width / pixels
    column = np.floor((x + half_width) / pixel).astype(np.int64)
    row = np.floor((y + half_width) / pixel).astype(np.int64)
    inside = (column >= 0) & (column < pixels) & (row >= 0) & (row < pixels)
    charged = c.charge != 0
    total_pt = np.bincount(c.jet, c.pt, minlength=c.n_jets)
    pt_fraction = c.pt / np.where(total_pt > 0, total_pt, 1.0)[c.jet]

    n_pixels = pixels * pixels
    images = np.zeros((c.n_jets * n_pixels, len(IMAGE_CHANNELS)), dtype=np.float64)
    flat_index = (c.jet * n_pixels + row * pixels + column)[inside]
    weights_per_channel = (
        np.where(charged, 0.0, pt_fraction),
        np.where(charged, pt_fraction, 0.0),
        charged.astype(np.float64),
    )
    for channel, weights in enumerate(weights_per_channel):
        images[:, channel] = np.bincount(flat_index, weights[inside], minlength=len(images))
    return images.reshape(c.n_jets, pixels, pixels, len(IMAGE_CHANNELS)).astype(np.float32)
