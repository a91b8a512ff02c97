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
  same weights.

Feature builders shared between plugins (:mod:`hepml_coffea.features.sharing`) share within the
weighted view of one method and never between it and the raw events.
"""

from __future__ import annotations

import awkward as ak

from hepml_coffea.features.sharing import PARENT_ATTR, shared
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
        parts[jets] = _with_fields(
            collection,
            {
                field: collection[f"{method}_{field}"]
                for field in REBUILT_JET_FIELDS
                if field in collection.fields and f"{method}_{field}" in collection.fields
            },
        )
    parent = (events.attrs or {}).get(PARENT_ATTR, events)
    return ak.zip(
        parts,
        depth_limit=1,
        behavior=events.behavior,
        attrs={PARENT_ATTR: _token(parent, method)},
    )
