"""Particle clouds (ParticleNet, PFN/EFN) and constituent lists (TopoDNN).

Inputs are scaled by fixed constants chosen for O(1) values on jets of a few hundred GeV (the
same kind of fixed affine scaling ParticleNet uses), so no per-artifact standardisation is
needed and padded slots stay exactly zero, which the networks' masks rely on.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.features.constituents import (
    jet_constituents,
    oriented_coordinates,
    pad,
)
from hepml_coffea.features.sharing import shared

CLOUD_FEATURES = (
    "deta",
    "dphi",
    "log_pt",
    "log_energy",
    "log_pt_rel",
    "log_energy_rel",
    "delta_r",
    "pt_fraction",
    "charge",
    "is_electron",
    "is_muon",
    "is_photon",
    "is_charged_hadron",
    "is_neutral_hadron",
    "mask",
)
"""Channels of :func:`particle_cloud`, in order. ``deta, dphi`` are the kNN coordinates, ``mask``
(last) is 1 for a real constituent and 0 for padding."""

COORDINATE_CHANNELS = (0, 2)  # deta, dphi: [start, stop) along the channel axis
PT_FRACTION_CHANNEL = CLOUD_FEATURES.index("pt_fraction")
MASK_CHANNEL = CLOUD_FEATURES.index("mask")

DEFAULT_CLOUD_SIZE = 50
DEFAULT_LIST_SIZE = 30


def _pid_flags(pdg_id: np.ndarray, charge: np.ndarray) -> list[np.ndarray]:
    abs_id = np.abs(pdg_id)
    electron, muon, photon = abs_id == 11, abs_id == 13, abs_id == 22
    lepton_or_photon = electron | muon | photon
    charged_hadron = (charge != 0) & ~lepton_or_photon
    neutral_hadron = (charge == 0) & ~lepton_or_photon
    return [
        flag.astype(np.float64) for flag in (electron, muon, photon, charged_hadron, neutral_hadron)
    ]


@shared
def particle_cloud(
    events, collection: str = "FatJet", n_constituents: int = DEFAULT_CLOUD_SIZE
) -> np.ndarray:
    """``(n_jets, n_constituents, 15)`` float32: the leading constituents as a padded point cloud.

    Channels are :data:`CLOUD_FEATURES`: relative eta/phi, log pT and energy (absolute and
    relative to the jet), distance to the axis, pT fraction, charge, five particle-type flags and
    the mask.
    """
    c = jet_constituents(events, collection)
    with np.errstate(divide="ignore"):
        log_pt = np.log(c.pt)
        log_energy = np.log(c.energy)
        log_pt_rel = log_pt - np.log(c.jet_pt[c.jet])
        log_energy_rel = log_energy - np.log(c.jet_energy[c.jet])
    values = np.stack(
        [
            c.deta,
            c.dphi,
            (log_pt - 1.7) * 0.7,
            (log_energy - 2.0) * 0.7,
            (log_pt_rel + 4.7) * 0.7,
            (log_energy_rel + 4.7) * 0.7,
            (np.hypot(c.deta, c.dphi) - 0.2) * 4.0,
            c.pt / c.jet_pt[c.jet],
            c.charge,
            *_pid_flags(c.pdg_id, c.charge),
            np.ones_like(c.pt),
        ],
        axis=1,
    )
    return pad(c, values, n_constituents)


@shared
def constituent_list(
    events, collection: str = "FatJet", n_constituents: int = DEFAULT_LIST_SIZE
) -> np.ndarray:
    """``(n_jets, 3 * n_constituents)`` float32 for a dense network (TopoDNN, 1704.02124).

    For each of the leading constituents: pT / jet pT and its (x, y) after the DeepTop
    centre-rotate-flip preprocessing, flattened as (z_0, x_0, y_0, z_1, ...). Missing
    constituents are zeros.
    """
    c = jet_constituents(events, collection)
    x, y = oriented_coordinates(c)
    values = np.stack([c.pt / c.jet_pt[c.jet], x, y], axis=1)
    return pad(c, values, n_constituents).reshape(c.n_jets, -1)


def constituent_list_names(n_constituents: int = DEFAULT_LIST_SIZE) -> tuple[str, ...]:
    return tuple(f"{name}_{i}" for i in range(n_constituents) for name in ("pt_fraction", "x", "y"))


def particle_cloud_and_msoftdrop(events, collection: str = "FatJet") -> np.ndarray:
    """``(n_jets, 50 * 15 + 1)`` float32: :func:`particle_cloud` flattened, then the jet's
    soft-drop mass in GeV, for networks whose output depends on the mass explicitly (a
    mass-dependent working point, :mod:`hepml_coffea.training.mass_profile`)."""
    cloud = particle_cloud(events, collection)
    msoftdrop = ak.to_numpy(ak.flatten(events[collection]["msoftdrop"], axis=1)).astype(np.float32)
    return np.concatenate([cloud.reshape(len(cloud), -1), msoftdrop[:, None]], axis=1)


def particle_cloud_and_msoftdrop_names(n_constituents: int = DEFAULT_CLOUD_SIZE) -> tuple[str, ...]:
    return (*(f"{name}_{i}" for i in range(n_constituents) for name in CLOUD_FEATURES), "msoftdrop")
