"""Feature builders shared by training and inference.

Each builder maps events to a numpy array whose first axis runs over every object of a
collection, flattened over events, in the order of ``ak.flatten(events.<collection>)``.
"""

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
    "SUBSTRUCTURE_BRANCHES",
    "SUBSTRUCTURE_FEATURES",
    "TOP_WINDOW_BRANCHES",
    "TOP_WINDOW_FEATURES",
    "fatjet_substructure",
    "nsubjettiness_ratio",
    "top_window_features",
]
