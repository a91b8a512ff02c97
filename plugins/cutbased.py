"""``cutbased``: the soft-drop-mass window plus tau32 top tagger, the baseline for every network.

Score: ``1 - tau32`` for jets with 105 < msoftdrop < 210 GeV, 0 outside the window. Cutting on
the score is cutting on tau32 inside the window, the classic CMS top-tagging selection
(CMS-PAS-JME-16-003 uses this window with tau32 working points between about 0.46 and 0.81).
"""

from __future__ import annotations

import numpy as np

from hepml_coffea import Output, Plugin, PluginKind, hookimpl
from hepml_coffea.features import TOP_WINDOW_BRANCHES, TOP_WINDOW_FEATURES, top_window_features

MSOFTDROP_WINDOW = (105.0, 210.0)


def window_score(features: np.ndarray) -> dict[str, np.ndarray]:
    """``1 - tau32`` inside the soft-drop mass window, 0 outside."""
    msoftdrop, tau32 = features[:, 0], features[:, 1]
    low, high = MSOFTDROP_WINDOW
    in_window = (msoftdrop > low) & (msoftdrop < high)
    return {"top": np.where(in_window, np.clip(1.0 - tau32, 0.0, 1.0), 0.0)}


CUTBASED_TOP = Plugin(
    name="cutbased",
    kind=PluginKind.TAGGER,
    collection="FatJet",
    required_branches=TOP_WINDOW_BRANCHES,
    outputs=(Output("top", doc="1 - tau32 inside 105 < msoftdrop < 210 GeV, else 0"),),
    features=top_window_features,
    feature_names=TOP_WINDOW_FEATURES,
    postprocess=window_score,
    description="soft-drop mass window + tau32 top tagger (no network; the baseline)",
)


@hookimpl
def hepml_register_taggers() -> list[Plugin]:
    return [CUTBASED_TOP]
