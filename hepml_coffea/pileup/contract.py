"""The pileup-regression contract, and the plugins of the baseline methods built on it.

A pileup-regression plugin (kind ``pileup-regression``) decorates ``FatJet`` with
``<name>_pt``, ``<name>_mass`` and ``<name>_msoftdrop``, the jet after mitigation, and, when the
method has one, ``PFCands`` with ``<name>_weight``: the estimated leading-vertex share of each
candidate's energy (as CMS NanoAOD's ``PFCands_puppiWeight``). The jet columns of a weighted
method are always :func:`hepml_coffea.pileup.jets.weighted_jets` of its weights, so a tagger
can read the mitigated candidates (``weight x candidate``) and get the same jets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import awkward as ak
import numpy as np

from hepml_coffea.pileup.candidates import JetCandidates, candidate_branches, jet_candidates
from hepml_coffea.pileup.jets import WeightedJets, weighted_jets
from hepml_coffea.pileup.pileup_kind import PILEUP_REGRESSION
from hepml_coffea.plugin import Output, Plugin

JET_COLLECTION = "FatJet"
CANDIDATES = "PFCands"

#: what to do about files that lack a pileup plugin's branches
REGENERATE_HINT = (
    "pileup plugins need samples written by `hepml-coffea generate` (format v2 or later, which "
    "stores the leading-vertex fractions, rho, jet areas, the SoftKiller cut and the candidates "
    "around each jet): regenerate the sample with `hepml-coffea generate`"
)


class MethodResult(NamedTuple):
    """Per-candidate weights (None for a method without them) and the mitigated jets."""

    weights: np.ndarray | None
    jets: WeightedJets


Method = Callable[[ak.Array, JetCandidates], MethodResult]


def jets_from_weights(cands: JetCandidates, weights: np.ndarray) -> WeightedJets:
    """The jets of ``cands`` rebuilt from per-candidate ``weights`` (the one shared function)."""
    px, py, pz, e = cands.four_momenta()
    k = cands.constituent
    return weighted_jets(px[k], py[k], pz[k], e[k], cands.n_constituents, weights[k])


def pileup_outputs(per_candidate_weight: bool) -> tuple[Output, ...]:
    """The columns of a pileup-regression plugin."""
    jets = (
        Output("pt", range=(0.0, 1500.0), doc="jet pT after pileup mitigation (GeV)"),
        Output("mass", range=(0.0, 400.0), doc="jet mass after pileup mitigation (GeV)"),
        Output("msoftdrop", range=(0.0, 400.0), doc="soft-drop mass after mitigation (GeV)"),
    )
    if not per_candidate_weight:
        return jets
    weight = Output(
        "weight",
        range=(0.0, 1.0),
        doc="estimated leading-vertex share of the candidate's energy",
        collection=CANDIDATES,
    )
    return (*jets, weight)


class PileupColumns:
    """Feature builder of a pileup plugin: runs ``method`` and returns its columns directly.

    A class (not a closure) so that plugins pickle to worker processes."""

    def __init__(self, method: Method) -> None:
        self.method = method

    def __call__(self, events) -> dict[str, np.ndarray]:
        cands = jet_candidates(events, JET_COLLECTION)
        result = self.method(events, cands)
        columns = {
            "pt": result.jets.pt,
            "mass": result.jets.mass,
            "msoftdrop": result.jets.msoftdrop,
        }
        if result.weights is not None:
            columns["weight"] = result.weights
        return columns


def pileup_regression(
    name: str,
    method: Method,
    *,
    weights: bool,
    branches: tuple[str, ...] = (),
    description: str = "",
) -> Plugin:
    """A pileup-regression plugin for ``method``.

    :param weights: whether ``method`` returns per-candidate weights (``PFCands.<name>_weight``)
    :param branches: branches ``method`` reads beyond the candidates and their links
    """
    return Plugin(
        name=name,
        kind=PILEUP_REGRESSION,
        collection=JET_COLLECTION,
        required_branches=(*candidate_branches(JET_COLLECTION), *branches),
        outputs=pileup_outputs(weights),
        features=PileupColumns(method),
        description=description,
        input_hint=REGENERATE_HINT,
    )
