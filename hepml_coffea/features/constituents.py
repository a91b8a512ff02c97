"""Jet constituents as flat numpy arrays, linked through the PFNano ``<jets>PFCands`` table.

PFNano stores, per event, one row per (jet, candidate) link: ``FatJetPFCands_jetIdx`` and
``FatJetPFCands_pFCandsIdx``. We follow those links directly instead of coffea's
``FatJet.constituents`` because real CMS PFNano files lack the ``FatJet_pFCandsIdx`` branch that
coffea needs (see ``hepml_coffea/data/cms/README.md``), while the link table is always there.

Everything downstream (particle clouds, constituent lists, jet images) starts from
:class:`Constituents`: one flat array per quantity, sorted by jet and, within a jet, by
decreasing pT, so "the n leading constituents" is a slice and no Python loop runs over jets.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepml_coffea.errors import InvalidInputError
from hepml_coffea.features.links import match_links, wrap_phi
from hepml_coffea.features.sharing import shared


def constituent_branches(collection: str = "FatJet") -> tuple[str, ...]:
    """NanoAOD branches read by :func:`jet_constituents` for jets of ``collection``."""
    return (
        *(f"{collection}_{field}" for field in ("pt", "eta", "phi", "mass")),
        f"{collection}PFCands_jetIdx",
        f"{collection}PFCands_pFCandsIdx",
        *(f"PFCands_{field}" for field in ("pt", "eta", "phi", "mass", "charge", "pdgId")),
    )


@dataclass(frozen=True)
class Constituents:
    """Constituents of every jet, flattened over events and jets.

    Per-constituent arrays have one entry per constituent, grouped by ``jet`` (the jet's index in
    ``ak.flatten(events.<collection>)``) and sorted by decreasing pT within each jet.
    ``deta`` and ``dphi`` are relative to the jet axis, ``dphi`` wrapped into [-pi, pi).
    """

    jet: np.ndarray
    position: np.ndarray  # rank of the constituent within its jet (0 = highest pT)
    counts: np.ndarray  # constituents per jet
    pt: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    energy: np.ndarray
    charge: np.ndarray
    pdg_id: np.ndarray
    jet_pt: np.ndarray
    jet_energy: np.ndarray

    @property
    def n_jets(self) -> int:
        return len(self.counts)


def _flat(array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=1))


def _energy(pt: np.ndarray, eta: np.ndarray, mass: np.ndarray) -> np.ndarray:
    return np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)


def _check_links(
    links,
    local_jet: np.ndarray,
    local_candidate: np.ndarray,
    candidates_per_link: np.ndarray,
    collection: str,
) -> None:
    """Refuse a link table that contradicts the file: a jetIdx past its event's stored jets
    (coffea's global ``jetIdxG`` is then -1) or a pFCandsIdx past its event's candidates."""
    past_jets = local_jet < 0
    if "jetIdxG" in links.fields:
        past_jets |= _flat(links["jetIdxG"]) < 0
    past_candidates = (local_candidate < 0) | (local_candidate >= candidates_per_link)
    for bad, target in ((past_jets, collection), (past_candidates, "PFCands")):
        if bad.any():
            raise InvalidInputError(
                f"{bad.sum()} {collection}PFCands links point outside their event's {target} "
                "collection as stored in the file; the link table is inconsistent (was the file "
                "skimmed without re-indexing?). Regenerate or re-skim it; select objects after reading."
            )


def by_jet_then_decreasing_pt(jet: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """``np.lexsort((-pt, jet))``, 2.5x faster: one stable sort of an int64 key, the jet index
    above the float32 bits of pT inverted (non-negative floats order like their bit patterns).
    Negative or NaN pT, which that order would misplace, takes the lexsort."""
    if not (pt >= 0).all():
        return np.lexsort((-pt, jet))
    bits = pt.astype(np.float32).view(np.uint32).astype(np.int64)
    return np.argsort((jet.astype(np.int64) << 32) | (0xFFFFFFFF - bits), kind="stable")


@shared
def jet_constituents(events, collection: str = "FatJet") -> Constituents:
    """Follow the ``<collection>PFCands`` links and return every jet's constituents, flat.

    The jets may have been selected, sliced or reordered after reading: each one is matched to
    its own links by :func:`hepml_coffea.features.links.match_links`, not by position.
    """
    jets = events[collection]
    links = events[f"{collection}PFCands"]
    candidates = events["PFCands"]

    links_per_event = ak.to_numpy(ak.num(links, axis=1)).astype(np.int64)
    candidates_per_event = ak.to_numpy(ak.num(candidates, axis=1)).astype(np.int64)
    link_event = np.repeat(np.arange(len(links_per_event)), links_per_event)
    local_jet = _flat(links["jetIdx"]).astype(np.int64)
    local_candidate = _flat(links["pFCandsIdx"]).astype(np.int64)
    _check_links(links, local_jet, local_candidate, candidates_per_event[link_event], collection)
    candidate = (
        local_candidate + (np.cumsum(candidates_per_event) - candidates_per_event)[link_event]
    )

    def candidate_field(field: str, dtype=np.float64) -> np.ndarray:
        return _flat(candidates[field]).astype(dtype)[candidate]

    pt, eta, phi = (candidate_field(field) for field in ("pt", "eta", "phi"))
    jet_pt, jet_eta, jet_phi, jet_mass = (
        _flat(jets[field]).astype(np.float64) for field in ("pt", "eta", "phi", "mass")
    )
    jets_per_event = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    jet_event = np.repeat(np.arange(len(jets_per_event)), jets_per_event)
    linked = match_links(
        link_event, local_jet, pt, eta, phi, jet_event, jet_eta, jet_phi, collection
    )

    by_jet_then_pt = by_jet_then_decreasing_pt(linked.jet, pt[linked.rows])
    order, jet = linked.rows[by_jet_then_pt], linked.jet[by_jet_then_pt]
    counts = np.bincount(jet, minlength=len(jet_pt))
    starts = np.cumsum(counts) - counts
    position = np.arange(len(order)) - starts[jet]
    pt, eta, phi = pt[order], eta[order], phi[order]
    mass = candidate_field("mass")[order]
    return Constituents(
        jet=jet,
        position=position,
        counts=counts,
        pt=pt,
        deta=eta - jet_eta[jet],
        dphi=wrap_phi(phi - jet_phi[jet]),
        energy=_energy(pt, eta, mass),
        charge=candidate_field("charge")[order],
        pdg_id=candidate_field("pdgId", np.int64)[order],
        jet_pt=jet_pt,
        jet_energy=_energy(jet_pt, jet_eta, jet_mass),
    )


def pad(constituents: Constituents, values: np.ndarray, n_constituents: int) -> np.ndarray:
    """``(n_jets, n_constituents, k)`` array of the ``n_constituents`` leading constituents' ``values``
    (shape ``(n, k)``), zero-padded where a jet has fewer."""
    keep = constituents.position < n_constituents
    out = np.zeros((constituents.n_jets, n_constituents, values.shape[1]), dtype=np.float32)
    out[constituents.jet[keep], constituents.position[keep]] = values[keep]
    return out


@shared
def oriented_coordinates(constituents: Constituents) -> tuple[np.ndarray, np.ndarray]:
    """DeepTop preprocessing of (eta, phi) (Macaluso & Shih, 1803.00107): centre, rotate, flip.

    * centre on the pT-weighted centroid;
    * rotate so the principal axis of the pT-weighted (eta, phi) covariance is vertical;
    * flip each axis so its pT-weighted third moment is positive, which puts the harder
      off-centre subjets and radiation on the positive side: most intensity in the upper right.

    Returns the new (x, y) of every constituent; all steps are per jet and columnar.
    """
    jet, weight = constituents.jet, constituents.pt
    total = np.bincount(jet, weight, minlength=constituents.n_jets)
    total = np.where(total > 0, total, 1.0)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(jet, weight * values, minlength=constituents.n_jets) / total

    x = constituents.deta - mean(constituents.deta)[jet]
    y = constituents.dphi - mean(constituents.dphi)[jet]
    angle = 0.5 * np.arctan2(2 * mean(x * y), mean(x * x) - mean(y * y))  # major axis vs x
    rotation = np.pi / 2 - angle
    cos, sin = np.cos(rotation)[jet], np.sin(rotation)[jet]
    x, y = cos * x - sin * y, sin * x + cos * y
    # third moments decide the flips: the centroid of x and y is zero by construction
    # (x * x * x, not x**3: numpy's float power is 300x slower)
    x = np.where(mean(x * x * x)[jet] < 0, -x, x)
    y = np.where(mean(y * y * y)[jet] < 0, -y, y)
    return x, y
