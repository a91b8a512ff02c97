"""The PF candidates of an event chunk, flat, and which of them make up each jet.

Pileup methods weight every stored candidate (``PFCands.<name>_weight``) and rebuild each jet
from its constituents' weights; both need the candidates flat with their event, and every jet's
constituents as indices into them. Jets are matched to their link rows by
:func:`hepml_coffea.features.links.match_links`, so selected or reordered jets still get their
own constituents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import awkward as ak
import numpy as np

from hepml_coffea.features.links import match_links

#: candidate branches every pileup method reads
CANDIDATE_FIELDS = ("pt", "eta", "phi", "mass", "charge", "fromPV")


def candidate_branches(collection: str = "FatJet") -> tuple[str, ...]:
    """NanoAOD branches :func:`jet_candidates` reads."""
    return (
        *(f"{collection}_{field}" for field in ("pt", "eta", "phi")),
        f"{collection}PFCands_jetIdx",
        f"{collection}PFCands_pFCandsIdx",
        *(f"PFCands_{field}" for field in CANDIDATE_FIELDS),
    )


@dataclass(frozen=True)
class JetCandidates:
    """Every stored candidate (flat over events) and every jet's constituents among them."""

    counts: np.ndarray  # candidates per event
    event: np.ndarray  # event of each candidate
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    charge: np.ndarray
    from_pv: np.ndarray
    #: candidate index of every constituent, grouped jet by jet (jets flattened over events)
    constituent: np.ndarray
    n_constituents: np.ndarray  # per jet
    jet_counts: np.ndarray  # jets per event
    jet_eta: np.ndarray
    jet_phi: np.ndarray

    def four_momenta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(px, py, pz, E) of every candidate."""
        px, py = self.pt * np.cos(self.phi), self.pt * np.sin(self.phi)
        pz = self.pt * np.sinh(self.eta)
        return px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + self.mass**2)


def _flat(array, dtype=np.float64) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=1)).astype(dtype)


class LinkedConstituents(NamedTuple):
    """Every current jet's constituents as indices into the flat candidates."""

    #: candidate index of every constituent, grouped jet by jet (jets flattened over events)
    constituent: np.ndarray
    #: the jet (index among the flattened jets) of every constituent
    jet: np.ndarray
    jet_counts: np.ndarray  # jets per event
    jet_eta: np.ndarray
    jet_phi: np.ndarray


def linked_constituents(
    events,
    collection: str,
    counts: np.ndarray,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
) -> LinkedConstituents:
    """The ``<collection>PFCands`` links of ``events`` followed to the candidates, given flat
    (``counts`` per event, ``pt``, ``eta``, ``phi``), each jet matched to its own links by
    :func:`hepml_coffea.features.links.match_links`."""
    links, jets = events[f"{collection}PFCands"], events[collection]
    links_per_event = ak.to_numpy(ak.num(links, axis=1)).astype(np.int64)
    link_event = np.repeat(np.arange(len(links_per_event)), links_per_event)
    link_candidate = _flat(links["pFCandsIdx"], np.int64) + (np.cumsum(counts) - counts)[link_event]
    jet_counts = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    jet_eta, jet_phi = _flat(jets["eta"]), _flat(jets["phi"])
    linked = match_links(
        link_event,
        _flat(links["jetIdx"], np.int64),
        pt[link_candidate],
        eta[link_candidate],
        phi[link_candidate],
        np.repeat(np.arange(len(jet_counts)), jet_counts),
        jet_eta,
        jet_phi,
        collection,
    )
    return LinkedConstituents(link_candidate[linked.rows], linked.jet, jet_counts, jet_eta, jet_phi)


def jet_candidates(events, collection: str = "FatJet") -> JetCandidates:
    """Read the candidates and the ``<collection>PFCands`` links of ``events``."""
    candidates = events["PFCands"]
    counts = ak.to_numpy(ak.num(candidates, axis=1)).astype(np.int64)
    event = np.repeat(np.arange(len(counts)), counts)
    pt, eta, phi, mass = (_flat(candidates[f]) for f in ("pt", "eta", "phi", "mass"))
    linked = linked_constituents(events, collection, counts, pt, eta, phi)
    return JetCandidates(
        counts=counts,
        event=event,
        pt=pt,
        eta=eta,
        phi=phi,
        mass=mass,
        charge=_flat(candidates["charge"], np.int64),
        from_pv=_flat(candidates["fromPV"], np.int64),
        constituent=linked.constituent,
        n_constituents=np.bincount(linked.jet, minlength=len(linked.jet_eta)),
        jet_counts=linked.jet_counts,
        jet_eta=linked.jet_eta,
        jet_phi=linked.jet_phi,
    )
