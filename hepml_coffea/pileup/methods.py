"""The baseline methods as ``(events, candidates) -> MethodResult``: CHS, area-median,
SoftKiller and PUPPI. Each weighted method goes through
:func:`hepml_coffea.pileup.contract.jets_from_weights`."""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.pileup.area import subtract
from hepml_coffea.pileup.candidates import JetCandidates
from hepml_coffea.pileup.chs import charged_pileup, chs_weights
from hepml_coffea.pileup.contract import MethodResult, jets_from_weights
from hepml_coffea.pileup.jets import WeightedJets, jet_four_momenta
from hepml_coffea.pileup.puppi import puppi_weights

RHO_BRANCHES = (
    "fixedGridRhoFastjetCentralChs",
    "fixedGridRhoMFastjetCentralChs",
    "FatJet_area",
    "FatJet_areaMass",
)
SOFTKILLER_BRANCHES = ("softKillerPtCutChs",)


def _scalar(events, branch: str) -> np.ndarray:
    return ak.to_numpy(events[branch]).astype(np.float64)


def chs(events, cands: JetCandidates) -> MethodResult:
    """Charged pileup removed."""
    w = chs_weights(cands)
    return MethodResult(w, jets_from_weights(cands, w))


def softkiller(events, cands: JetCandidates) -> MethodResult:
    """CHS, then neutral candidates at or below the event's SoftKiller cut removed (the cut is
    computed from the whole CHS event at generation, ``softKillerPtCutChs``)."""
    cut = _scalar(events, "softKillerPtCutChs")[cands.event]
    neutral = cands.charge == 0
    w = np.where(charged_pileup(cands) | (neutral & (cands.pt <= cut)), 0.0, 1.0)
    return MethodResult(w, jets_from_weights(cands, w))


def puppi(events, cands: JetCandidates) -> MethodResult:
    """PUPPI weights (:mod:`hepml_coffea.pileup.puppi`)."""
    w = puppi_weights(cands)
    return MethodResult(w, jets_from_weights(cands, w))


def area_median(events, cands: JetCandidates) -> MethodResult:
    """CHS jet minus rho x area (pT) and rho_m x area (mass); soft-drop mass of the CHS jet."""
    w = chs_weights(cands)
    px, py, pz, e = cands.four_momenta()
    k = cands.constituent
    jet4 = jet_four_momenta(px[k], py[k], pz[k], e[k], cands.n_constituents, w[k])
    jet_event = np.repeat(np.arange(len(cands.jet_counts)), cands.jet_counts)
    rho = _scalar(events, "fixedGridRhoFastjetCentralChs")[jet_event]
    rho_m = _scalar(events, "fixedGridRhoMFastjetCentralChs")[jet_event]
    area, area_mass = (
        ak.to_numpy(ak.flatten(events["FatJet"][f], axis=1)).astype(np.float64)
        for f in ("area", "areaMass")
    )
    pt, mass = subtract(*jet4, area, area_mass, rho, rho_m)
    return MethodResult(None, WeightedJets(pt, mass, jets_from_weights(cands, w).msoftdrop))
