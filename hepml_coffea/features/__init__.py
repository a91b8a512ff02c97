"""Feature builders shared by training and inference.

Each builder maps events to a numpy array whose first axis runs over every object of a
collection, flattened over events, in the order of ``ak.flatten(events.<collection>)``.
Builders marked :func:`shared` run once per events object when several plugins are attached
together (see :mod:`hepml_coffea.features.sharing`).
"""

from hepml_coffea.features.constituents import (
    constituent_branches,
    jet_constituents,
    oriented_coordinates,
)
from hepml_coffea.features.images import IMAGE_CHANNELS, jet_images
from hepml_coffea.features.particles import (
    CLOUD_FEATURES,
    constituent_list,
    particle_cloud,
    particle_cloud_and_msoftdrop,
    particle_cloud_and_msoftdrop_names,
)
from hepml_coffea.features.sharing import shared, shared_features
from hepml_coffea.features.substructure import (
    SUBSTRUCTURE_BRANCHES,
    SUBSTRUCTURE_FEATURES,
    TOP_WINDOW_BRANCHES,
    TOP_WINDOW_FEATURES,
    fatjet_substructure,
    nsubjettiness_ratio,
    top_window_features,
)

__all__ = [
    "CLOUD_FEATURES",
    "IMAGE_CHANNELS",
    "SUBSTRUCTURE_BRANCHES",
    "SUBSTRUCTURE_FEATURES",
    "TOP_WINDOW_BRANCHES",
    "TOP_WINDOW_FEATURES",
    "constituent_branches",
    "constituent_list",
    "fatjet_substructure",
    "jet_constituents",
    "jet_images",
    "nsubjettiness_ratio",
    "oriented_coordinates",
    "particle_cloud",
    "particle_cloud_and_msoftdrop",
    "particle_cloud_and_msoftdrop_names",
    "shared",
    "shared_features",
    "top_window_features",
]
