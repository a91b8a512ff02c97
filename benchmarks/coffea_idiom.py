"""Network inputs built the way a coffea user writes them without hepml-coffea: awkward
operations on ``FatJet.constituents.pf`` (coffea's PFNano schema), padded with
``ak.pad_none``/``ak.fill_none``, as coffea's ``ml_tools`` documentation suggests.

Written with awkward operations only, so the same code runs on eager, virtual and dask-awkward
events; that is what lets ``coffea.ml_tools.tf_wrapper`` run in dask mode, where its
``prepare_awkward`` receives dask-awkward arrays. Each builder gives the same values as the
hepml-coffea builder it mirrors (``bench_backends.py`` checks the scores to 1e-5 before timing).

Every builder takes the jagged ``events.FatJet`` and returns a tuple of arrays with one row per
jet (``ak.flatten`` over events), unstandardised; :func:`network_input` makes the network's
input of them on the numpy side, where tf_wrapper's ``numpy_call`` runs: a reshape for most,
the scatter into pixels for ``deeptop_cnn``'s jet images, which awkward cannot do.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.features.images import DEFAULT_HALF_WIDTH, DEFAULT_PIXELS
from hepml_coffea.features.particles import DEFAULT_CLOUD_SIZE, DEFAULT_LIST_SIZE


def _float64(array):
    return ak.values_astype(array, np.float64)


def _padded(values, size: int):
    """``values`` (events x jets x constituents) cut or zero-padded to ``size`` constituents."""
    return ak.fill_none(ak.pad_none(values, size, axis=-1, clip=True), 0.0)


def _stacked(channels: list, size: int):
    """events x jets x ``size`` x len(channels), the channels padded and stacked last (axis 3:
    dask-awkward concatenates along a positive axis only)."""
    return ak.concatenate([_padded(c, size)[..., np.newaxis] for c in channels], axis=3)


def _energy(pt, eta, mass):
    return np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)


def _constituents(jets):
    """The jets' PF candidates, hardest first, with (deta, dphi) to the jet axis."""
    pf = jets.constituents.pf
    pf = pf[ak.argsort(pf.pt, axis=-1, ascending=False)]
    deta = _float64(pf.eta) - _float64(jets.eta)
    dphi = (_float64(pf.phi) - _float64(jets.phi) + np.pi) % (2 * np.pi) - np.pi
    return pf, deta, dphi


def _cloud(jets, size: int):
    """events x jets x ``size`` x 15, the channels of ``particles.CLOUD_FEATURES``."""
    pf, deta, dphi = _constituents(jets)
    pt, eta, mass = _float64(pf.pt), _float64(pf.eta), _float64(pf.mass)
    jet_pt = _float64(jets.pt)
    jet_energy = _energy(jet_pt, _float64(jets.eta), _float64(jets.mass))
    log_pt, log_energy = np.log(pt), np.log(_energy(pt, eta, mass))
    abs_id, charge = abs(pf.pdgId), _float64(pf.charge)
    electron, muon, photon = abs_id == 11, abs_id == 13, abs_id == 22
    lepton_or_photon = electron | muon | photon
    flags = [
        electron,
        muon,
        photon,
        (charge != 0) & ~lepton_or_photon,
        (charge == 0) & ~lepton_or_photon,
    ]
    channels = [
        deta,
        dphi,
        (log_pt - 1.7) * 0.7,
        (log_energy - 2.0) * 0.7,
        (log_pt - np.log(jet_pt) + 4.7) * 0.7,
        (log_energy - np.log(jet_energy) + 4.7) * 0.7,
        (np.sqrt(deta**2 + dphi**2) - 0.2) * 4.0,
        pt / jet_pt,
        charge,
        *(ak.values_astype(flag, np.float64) for flag in flags),
        ak.ones_like(pt),
    ]
    return ak.values_astype(_stacked(channels, size), np.float32)


def particle_cloud(jets, size: int = DEFAULT_CLOUD_SIZE):
    """(jets x ``size`` x 15,), as ``hepml_coffea.features.particles.particle_cloud``."""
    return (ak.flatten(_cloud(jets, size), axis=1),)


def particle_cloud_and_msoftdrop(jets, size: int = DEFAULT_CLOUD_SIZE):
    """(jets x ``size`` x 15, jets x 1): the cloud and the soft-drop mass."""
    msoftdrop = ak.values_astype(ak.flatten(jets.msoftdrop, axis=1), np.float32)
    return (ak.flatten(_cloud(jets, size), axis=1), msoftdrop[:, np.newaxis])


def _oriented(jets):
    """The jets' PF candidates, their pT, each jet's total constituent pT (1 where it is 0), and
    (x, y) after DeepTop's centre, rotate and flip."""
    pf, deta, dphi = _constituents(jets)
    weight = _float64(pf.pt)
    total = ak.sum(weight, axis=-1)
    total = ak.where(total > 0, total, 1.0)

    def mean(values):
        return ak.sum(weight * values, axis=-1) / total

    x, y = deta - mean(deta), dphi - mean(dphi)
    rotation = np.pi / 2 - 0.5 * np.arctan2(2 * mean(x * y), mean(x * x) - mean(y * y))
    cos, sin = np.cos(rotation), np.sin(rotation)
    x, y = cos * x - sin * y, sin * x + cos * y
    x = ak.where(mean(x**3) < 0, -x, x)
    y = ak.where(mean(y**3) < 0, -y, y)
    return pf, weight, total, x, y


def constituent_list(jets, size: int = DEFAULT_LIST_SIZE):
    """(jets x ``size`` x 3,): (pT fraction, x, y) per constituent after DeepTop's centre, rotate
    and flip, as ``hepml_coffea.features.particles.constituent_list`` once in a row."""
    _, weight, _, x, y = _oriented(jets)
    stacked = _stacked([weight / _float64(jets.pt), x, y], size)
    return (ak.values_astype(ak.flatten(stacked, axis=1), np.float32),)


IMAGE_PAD = 256
"""Constituents per jet kept for the images, padded to this (the generated samples have at most
124; a clipped jet would change its image, and ``bench_backends.py`` compares scores first)."""


def image_pixels(jets, size: int = IMAGE_PAD):
    """(jets x ``size`` x 4,): per constituent its pixel of DeepTop's image
    (``hepml_coffea.features.images``) and its weight in each channel, 0 outside the window.
    Awkward cannot scatter into pixels; :func:`jet_images` does that on the numpy side."""
    pf, weight, total, x, y = _oriented(jets)
    width = 2 * DEFAULT_HALF_WIDTH / DEFAULT_PIXELS
    column = np.floor((x + DEFAULT_HALF_WIDTH) / width)
    row = np.floor((y + DEFAULT_HALF_WIDTH) / width)
    inside = (column >= 0) & (column < DEFAULT_PIXELS) & (row >= 0) & (row < DEFAULT_PIXELS)
    fraction = ak.where(inside, weight / total, 0.0)
    charged = pf.charge != 0
    channels = [
        ak.where(inside, row * DEFAULT_PIXELS + column, 0.0),
        ak.where(charged, 0.0, fraction),
        ak.where(charged, fraction, 0.0),
        ak.values_astype(charged & inside, np.float64),
    ]
    return (ak.flatten(_stacked(channels, size), axis=1),)


def jet_images(arrays: tuple[np.ndarray, ...], input_ndim: int) -> np.ndarray:
    """(jets x pixels x pixels x 3) float32 images from :func:`image_pixels`: each channel's
    weights summed into their pixels with one ``np.bincount``."""
    (pixels,) = arrays
    n_jets, n_pixels = len(pixels), DEFAULT_PIXELS * DEFAULT_PIXELS
    index = (np.arange(n_jets)[:, np.newaxis] * n_pixels + pixels[..., 0].astype(np.int64)).ravel()
    channels = [
        np.bincount(index, pixels[..., 1 + c].ravel(), minlength=n_jets * n_pixels)
        for c in range(pixels.shape[-1] - 1)
    ]
    images = np.stack(channels, axis=-1).reshape(n_jets, DEFAULT_PIXELS, DEFAULT_PIXELS, -1)
    return images.astype(np.float32)


def substructure(jets):
    """(jets x 4,): log pT, soft-drop mass, tau21, tau32 (1 where the denominator is 0)."""
    flat = ak.flatten(jets, axis=1)
    tau1, tau2, tau3 = flat["tau1"], flat["tau2"], flat["tau3"]
    columns = [
        np.log(flat.pt),
        flat.msoftdrop,
        ak.where(tau1 > 0, tau2 / ak.where(tau1 > 0, tau1, 1.0), 1.0),
        ak.where(tau2 > 0, tau3 / ak.where(tau2 > 0, tau2, 1.0), 1.0),
    ]
    return (
        ak.values_astype(ak.concatenate([c[:, np.newaxis] for c in columns], axis=1), np.float32),
    )


def model_rows(arrays: tuple[np.ndarray, ...], input_ndim: int) -> np.ndarray:
    """The network's input from the builder's arrays, as numpy: flattened per jet and side by
    side where the network takes one flat row (a reshape, which awkward cannot do on regular
    axes without making them variable-length)."""
    if len(arrays) == 1 and arrays[0].ndim == input_ndim:
        return arrays[0]
    return np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1)


BUILDERS = {
    "substructure_dnn": substructure,
    "topodnn": constituent_list,
    "pfn": particle_cloud,
    "efn": particle_cloud,
    "pfn_md": particle_cloud,
    "pfn_ddt": particle_cloud_and_msoftdrop,
    "particlenet_lite": particle_cloud,
    "deeptop_cnn": image_pixels,
}
"""hepml-coffea network -> its input's arrays built this way."""

NETWORK_INPUTS = {"deeptop_cnn": jet_images}
"""Networks whose input the numpy side makes otherwise than :func:`model_rows`."""


def network_input(name: str, arrays: tuple[np.ndarray, ...], input_ndim: int) -> np.ndarray:
    """Network ``name``'s input from its builder's arrays (as numpy)."""
    return NETWORK_INPUTS.get(name, model_rows)(arrays, input_ndim)
