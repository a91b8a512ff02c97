"""``tau21_twoprong``: scores two-prong (W/Z) jets as 1 - tau21 (no network needed)."""

import awkward as ak
import numpy as np

from hepml_coffea import Output, Plugin, PluginKind, hookimpl
from hepml_coffea.features import nsubjettiness_ratio


def tau21(events) -> np.ndarray:
    # index by string: on coffea's FatJet, .tau2 is the four-vector's tau**2, not the branch
    jets = events.FatJet
    tau1 = ak.to_numpy(ak.flatten(jets["tau1"])).astype(np.float32)
    tau2 = ak.to_numpy(ak.flatten(jets["tau2"])).astype(np.float32)
    return nsubjettiness_ratio(tau2, tau1)


def one_minus(tau21_values: np.ndarray) -> dict[str, np.ndarray]:
    return {"score": 1.0 - tau21_values}


@hookimpl
def hepml_register_taggers():
    return [
        Plugin(
            name="tau21_twoprong",
            kind=PluginKind.TAGGER,
            collection="FatJet",
            required_branches=("FatJet_tau1", "FatJet_tau2"),
            outputs=(Output("score", doc="1 - tau21"),),
            features=tau21,
            feature_names=("tau21",),
            postprocess=one_minus,
            description="1 - tau21 two-prong tagger (example third-party package)",
        )
    ]
