"""The jet image as the autoencoder reads it: every channel on the same O(1) per-jet scale.

``features.images`` gives three channels per pixel: the neutral and the charged pT fractions
(each image's two sum to about 1) and the charged multiplicity, a count (a QCD jet has 20-40
charged particles). Left as they are, the count dominates the squared reconstruction error, so
the score measures how many charged particles a jet has; W jets (a colour singlet, fewer
particles than gluon-rich QCD) then reconstruct *better* than QCD (W AUC 0.46 in
docs/anomaly.md). Here the multiplicity becomes the jet's share of its charged particles per
pixel (summing to 1 over the image) times :data:`MULTIPLICITY_WEIGHT`, and the pT fractions
their square root, which lifts the soft, wide-angle pixels where a second or third prong shows.
The weight and the square root were chosen on validation jets (docs/anomaly.md).
"""

from __future__ import annotations

import numpy as np

#: scale of the per-jet multiplicity share against the sqrt pT fractions (chosen on validation jets)
MULTIPLICITY_WEIGHT = 4.0
SCALED_CHANNELS = ("sqrt_neutral_pt_fraction", "sqrt_charged_pt_fraction", "charged_share")


def scaled_images(
    images: np.ndarray, multiplicity_weight: float = MULTIPLICITY_WEIGHT
) -> np.ndarray:
    """``images`` ``(n, pixels, pixels, 3)`` from :func:`hepml_coffea.features.jet_images` with the
    pT channels square-rooted and the multiplicity as ``weight * count / jet's charged count``
    (0 for a jet without charged particles); float32, same shape."""
    x = np.asarray(images, np.float32)
    pt = np.sqrt(np.clip(x[..., :2], 0.0, None))
    counts = x[..., 2]
    total = counts.reshape(len(x), -1).sum(axis=1)
    share = counts / np.where(total > 0, total, 1.0)[:, None, None]
    return np.concatenate([pt, (multiplicity_weight * share)[..., None]], axis=-1).astype(
        np.float32
    )
