"""Which rows of a PFNano link table belong to each jet of a possibly selected jet collection.

A link row of ``<jets>PFCands`` names its jet by ``jetIdx``, the jet's position in the collection
*as stored in the file*. Analyses select, slice and reorder jets before tagging
(``events["FatJet"] = events.FatJet[events.FatJet.pt > 550]``), which changes those positions
but not the link table, and after such an in-place replacement coffea's own cross-reference
(``links.jet``) no longer resolves. So links are not followed by position. The rows of one
stored jet form a group; its constituents' summed momentum points along that jet's axis (exactly,
for E-scheme jets; within 0.014 on the CMS PUPPI jets shipped here, whose neighbours lie 0.84 or
more away). Each jet of the current collection takes the group of its own event whose summed
momentum is closest to its (eta, phi), which selections and energy corrections leave unchanged.
The match is refused, not guessed, when no group is within :data:`MATCH_RADIUS` or two are.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hepml_coffea.errors import InvalidInputError

MATCH_RADIUS = 0.3
"""Largest (eta, phi) distance between a jet's axis and its constituents' summed momentum."""


class JetLinks(NamedTuple):
    """Link rows of every current jet: ``rows`` index the flat link table, ``jet`` is the jet's
    index among the flattened current jets. Grouped by jet in collection order, file order within."""

    rows: np.ndarray
    jet: np.ndarray


def wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Angle differences wrapped into [-pi, pi)."""
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without a loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def match_links(
    link_event: np.ndarray,
    link_jet: np.ndarray,
    link_pt: np.ndarray,
    link_eta: np.ndarray,
    link_phi: np.ndarray,
    jet_event: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    collection: str = "FatJet",
) -> JetLinks:
    """Assign link rows to the current jets (see the module docstring).

    ``link_*`` describe every row of the flat link table: its event, stored ``jetIdx`` and its
    candidate's pT, eta and phi; ``jet_*`` describe the current jets, flattened over events.
    """
    n_events = int(max(link_event.max(initial=-1), jet_event.max(initial=-1))) + 1
    stride = int(link_jet.max(initial=0)) + 1
    group_of_row = link_event * stride + link_jet
    order = np.argsort(group_of_row, kind="stable")
    groups, group_start, group_size, row_group = _group(group_of_row, order)
    px = np.bincount(row_group, link_pt * np.cos(link_phi), minlength=len(groups))
    py = np.bincount(row_group, link_pt * np.sin(link_phi), minlength=len(groups))
    pz = np.bincount(row_group, link_pt * np.sinh(link_eta), minlength=len(groups))
    group_eta = np.arcsinh(pz / np.maximum(np.hypot(px, py), 1e-12))
    group_phi = np.arctan2(py, px)
    group_event = groups // stride

    # every (jet, group of the same event) pair, with their distance
    groups_per_event = np.bincount(group_event, minlength=n_events)
    first_group = np.cumsum(groups_per_event) - groups_per_event
    candidates = groups_per_event[jet_event]
    pair_jet = np.repeat(np.arange(len(jet_event)), candidates)
    pair_group = _ranges(first_group[jet_event], candidates)
    distance = np.hypot(
        jet_eta[pair_jet] - group_eta[pair_group],
        wrap_phi(jet_phi[pair_jet] - group_phi[pair_group]),
    )
    close = distance < MATCH_RADIUS
    close_per_jet = np.bincount(pair_jet[close], minlength=len(jet_event))
    if (close_per_jet != 1).any():
        unmatched, ambiguous = int((close_per_jet == 0).sum()), int((close_per_jet > 1).sum())
        raise InvalidInputError(
            f"{unmatched + ambiguous} {collection} jet(s) cannot be matched to the {collection}PFCands "
            f"link table ({unmatched} with no linked constituents along their axis, {ambiguous} with "
            f"several, within dR {MATCH_RADIUS}). Select, slice or reorder {collection} before "
            "attaching, but keep each jet's eta and phi as read from the file."
        )
    match = np.empty(len(jet_event), dtype=np.int64)
    match[pair_jet[close]] = pair_group[close]
    _refuse_shared_groups(match, jet_eta, jet_phi, collection)

    sizes = group_size[match]
    rows = order[_ranges(group_start[match], sizes)]
    return JetLinks(rows=rows, jet=np.repeat(np.arange(len(match)), sizes))


def _group(keys: np.ndarray, order: np.ndarray):
    """Distinct ``keys``; where each one's rows start in ``order`` and how many; each row's group."""
    groups, start, size = np.unique(keys[order], return_index=True, return_counts=True)
    row_group = np.empty(len(keys), dtype=np.int64)
    row_group[order] = np.repeat(np.arange(len(groups)), size)
    return groups, start, size, row_group


def _refuse_shared_groups(
    match: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray, collection: str
) -> None:
    """Two current jets may share a group only if they are the same jet (a duplicate)."""
    order = np.lexsort((jet_phi, jet_eta, match))
    same_group = match[order][1:] == match[order][:-1]
    different_jet = (jet_eta[order][1:] != jet_eta[order][:-1]) | (
        jet_phi[order][1:] != jet_phi[order][:-1]
    )
    clash = int((same_group & different_jet).sum())
    if clash:
        raise InvalidInputError(
            f"{clash} pair(s) of different {collection} jets share their linked constituents; "
            f"jets closer than dR {MATCH_RADIUS} cannot be told apart by the {collection}PFCands table"
        )
