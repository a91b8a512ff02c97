"""Events as a pileup method leaves them: every PF candidate scaled by its weight, the jets rebuilt.

A constituent tagger composed with a weighted pileup regression (``pfn@puppi``,
:mod:`hepml_coffea.composition`) builds its features from this view instead of the raw events, as
CMS runs its taggers on PUPPI-weighted candidates:

- each candidate's four-momentum is scaled by its weight ``w`` (pT and mass times ``w``, eta and
  phi unchanged: :func:`hepml_coffea.pileup.jets.scale_four_momenta`, the scaling the rebuilt jets
  are summed from);
- candidates of weight 0 leave the jets (their link rows are dropped), as CHS and SoftKiller
  remove them;
- the jets' ``pt``, ``mass`` and ``msoftdrop`` are the pileup plugin's rebuilt ones
  (``<method>_pt`` ...), which :func:`hepml_coffea.pileup.jets.weighted_jets` computed from the
  same weights, and their ``eta`` and ``phi`` the axis of the weighted constituents: at MU 60
  PUPPI moves some jets' axes beyond the link matching's radius (docs/benchmarks.md), so the
  taggers' relative coordinates are taken from the jet the method leaves, and each jet still
  finds its constituents in the link table (:mod:`hepml_coffea.features.links`).

Feature builders shared between plugins (:mod:`hepml_coffea.features.sharing`) share within the
weighted view of one method and never between it and the raw events.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepml_coffea.features.sharing import PARENT_ATTR, shared
from hepml_coffea.pileup.candidates import linked_constituents
from hepml_coffea.pileup.jets import scale_four_momenta

CANDIDATES = "PFCands"
#: jet fields a pileup plugin rebuilds, replaced by its ``<method>_<field>`` columns
REBUILT_JET_FIELDS = ("pt", "mass", "msoftdrop")


class _WeightedEventsToken:
    """What shared feature builders key the weighted events of one method and chunk on."""


@shared
def _token(events, method: str) -> _WeightedEventsToken:
    return _WeightedEventsToken()


def _with_fields(collection, replacements: dict):
    """``collection`` with fields replaced, keeping its record name and behaviour."""
    for name, values in replacements.items():
        collection = ak.with_field(collection, values, where=name)
    return collection


def _flat(array, dtype=np.float64) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=1)).astype(dtype)


def weighted_axes(events, weight, jets: str = "FatJet") -> tuple[np.ndarray, np.ndarray]:
    """(eta, phi) of every jet's constituents scaled by ``weight`` (jagged per candidate), flat
    over jets; a jet's own axis where its weighted constituents sum to nothing. Constituents are
    found by the raw candidates, as every feature builder finds them."""
    candidates = events[CANDIDATES]
    counts = ak.to_numpy(ak.num(candidates, axis=1)).astype(np.int64)
    pt, eta, phi = (_flat(candidates[field]) for field in ("pt", "eta", "phi"))
    linked = linked_constituents(events, jets, counts, pt, eta, phi)
    k = linked.constituent
    scaled = _flat(weight)[k] * pt[k]
    n_jets = len(linked.jet_eta)
    px = np.bincount(linked.jet, scaled * np.cos(phi[k]), minlength=n_jets)
    py = np.bincount(linked.jet, scaled * np.sin(phi[k]), minlength=n_jets)
    pz = np.bincount(linked.jet, scaled * np.sinh(eta[k]), minlength=n_jets)
    transverse = np.hypot(px, py)
    empty = transverse == 0
    axis_eta = np.where(empty, linked.jet_eta, np.arcsinh(pz / np.where(empty, 1.0, transverse)))
    axis_phi = np.where(empty, linked.jet_phi, np.arctan2(py, px))
    return axis_eta, axis_phi


def weighted_events(events, method: str, jets: str = "FatJet"):
    """``events`` (a declared view holding ``PFCands.<method>_weight`` and the jets'
    ``<method>_<field>`` columns) as the pileup method ``method`` leaves them (module docstring).

    Only the fields ``events`` holds are replaced; the weight columns stay readable."""
    candidates = events[CANDIDATES]
    weight = candidates[f"{method}_weight"]
    pt, mass = scale_four_momenta(candidates["pt"], candidates["mass"], weight)
    parts = {name: events[name] for name in events.fields}
    parts[CANDIDATES] = _with_fields(
        candidates, {"pt": pt, **({"mass": mass} if "mass" in candidates.fields else {})}
    )
    links_name = f"{jets}{CANDIDATES}"
    if links_name in events.fields:
        links = events[links_name]
        parts[links_name] = links[weight[links["pFCandsIdx"]] > 0]
    if jets in events.fields:
        collection = events[jets]
        replaced = {
            field: collection[f"{method}_{field}"]
            for field in REBUILT_JET_FIELDS
            if field in collection.fields and f"{method}_{field}" in collection.fields
        }
        if links_name in events.fields and {"eta", "phi"} <= set(collection.fields):
            jet_counts = ak.num(collection, axis=1)
            for field, values in zip(
                ("eta", "phi"), weighted_axes(events, weight, jets), strict=True
            ):
                replaced[field] = ak.unflatten(values.astype(np.float32), jet_counts)
        parts[jets] = _with_fields(collection, replaced)
    parent = (events.attrs or {}).get(PARENT_ATTR, events)
    return ak.zip(
        parts,
        depth_limit=1,
        behavior=events.behavior,
        attrs={PARENT_ATTR: _token(parent, method)},
    )
