"""The branches a plugin declares, and holding it to them in every execution mode.

In dask mode only the declared branches are read, so a feature builder that touches anything else
fails deep inside awkward. So that eager, virtual and dask mode behave alike, feature builders
always receive a *declared view* of the events: only the fields their plugin's
``required_branches`` name (plus the global indices coffea derives from them). Touching anything
else raises :class:`MissingBranchError` naming the plugin and the branch to declare.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import awkward as ak

from hepml_coffea.errors import MissingBranchError
from hepml_coffea.features.sharing import PARENT_ATTR
from hepml_coffea.plugin import Plugin

_NO_FIELD = re.compile(r"no field (?:named )?'([^']+)'")


def describe_source(events) -> str:
    """The file (and entries) events come from, for error messages; the dataset if that is all we know."""
    metadata = getattr(events, "metadata", None) or {}
    filename = metadata.get("filename") or _factory_file(events)
    if filename:
        start, stop = metadata.get("entrystart"), metadata.get("entrystop")
        entries = f" entries {start}-{stop}" if start is not None else ""
        return f"file {filename}{entries}"
    dataset = metadata.get("dataset")
    return f"dataset {dataset!r}" if dataset else "the input events"


def _factory_file(events) -> str | None:
    """The file eager or virtual NanoEvents were read from (coffea's factory keeps its handle)."""
    attrs = getattr(events, "attrs", None) or {}
    factory = attrs.get("@events_factory")
    handle = getattr(factory, "file_handle", None)
    return getattr(handle, "file_path", None)


def branch_path(branch: str, fields: Sequence[str]) -> tuple[str, ...]:
    """Field path of a NanoAOD branch in NanoEvents: ``FatJet_msoftdrop`` -> (FatJet, msoftdrop)."""
    if branch in fields:
        return (branch,)
    collection, _, field = branch.partition("_")
    if field and collection in fields:
        return (collection, field)
    if branch.startswith("n") and branch[1:] in fields:  # counter branch, e.g. nFatJet
        return (branch[1:],)
    return (branch,)


def check_required_branches(plugin: Plugin, events) -> None:
    """Raise :class:`MissingBranchError` if ``events`` lack a branch ``plugin`` reads."""
    fields = events.fields
    missing = []
    for branch in plugin.required_branches:
        path = branch_path(branch, fields)
        if path[0] not in fields or (len(path) == 2 and path[1] not in events[path[0]].fields):
            missing.append(branch)
    if plugin.collection is not None and plugin.collection not in fields:
        missing.insert(0, f"n{plugin.collection}")
    if missing:
        raise MissingBranchError(
            f"plugin {plugin.name!r} needs branch(es) {missing}, missing from "
            f"{describe_source(events)}. Use input files that contain them (e.g. PFNano for PF candidates), "
            f"or choose another plugin (`hepml-coffea plugins` lists what each one reads)."
        )


def declared_fields(plugin: Plugin, fields: Sequence[str]) -> dict[str, frozenset[str] | None]:
    """Per top-level field of the events, the sub-fields ``plugin`` declares (None: a scalar branch),
    the columns of the plugins it reads included."""
    declared: dict[str, set[str] | None] = (
        {} if plugin.collection is None else {plugin.collection: set()}
    )
    for branch in plugin.required_branches:
        path = branch_path(branch, fields)
        if len(path) == 2:
            declared.setdefault(path[0], set())
            declared[path[0]].add(path[1])  # type: ignore[union-attr]
        elif path[0] != branch:  # a counter: the collection's length, no fields
            declared.setdefault(path[0], set())
        else:
            declared[path[0]] = None
    for dependency in plugin.reads:  # the columns of the plugins it reads
        for output in dependency.outputs:
            target, column = dependency.output_collection(output), dependency.column_name(output)
            if target is None:
                declared[column] = None
            else:
                declared.setdefault(target, set())
                declared[target].add(column)  # type: ignore[union-attr]
    return {name: None if subs is None else frozenset(subs) for name, subs in declared.items()}


#: (record name, fields) whose coffea behaviour refused to build: asking again on every chunk
#: costs awkward's error formatting (a repr of every argument, ~4 ms), so the answer is kept
_UNBEHAVED: set[tuple[str | None, tuple[str, ...]]] = set()


def _collection_view(collection, subfields: frozenset[str]):
    """``collection`` with only ``subfields`` (and coffea's global indices derived from them)."""
    available = set(collection.fields)
    keep = sorted(
        f for f in available if f in subfields or (f.endswith("G") and f[:-1] in subfields)
    )
    counts = ak.num(collection, axis=1)
    name = collection.layout.purelist_parameter("__record__")
    if keep:
        fields = {f: collection[f] for f in keep}
        if (name, tuple(keep)) not in _UNBEHAVED:
            try:  # keep coffea's methods where the declared fields are enough for them
                return ak.zip(fields, with_name=name, behavior=collection.behavior)
            except ValueError:  # e.g. "FatJetArray requires the 'charge' field"
                _UNBEHAVED.add((name, tuple(keep)))
        return ak.zip(fields)
    empty = ak.Array(ak.contents.RecordArray([], [], length=int(ak.sum(counts))))
    return ak.unflatten(empty, counts)


def declared_view(plugin: Plugin, events):
    """``events`` reduced to what ``plugin`` declares; shared feature builders treat every view of
    the same events as those events (:mod:`hepml_coffea.features.sharing`)."""
    parts = {}
    for name, subfields in declared_fields(plugin, events.fields).items():
        parts[name] = (
            events[name] if subfields is None else _collection_view(events[name], subfields)
        )
    return ak.zip(parts, depth_limit=1, behavior=events.behavior, attrs={PARENT_ATTR: events})


def _branch_names(field: str, events, view) -> list[str]:
    """NanoAOD branch names for a field a feature builder asked ``view`` for and did not find:
    an event-level field, else that field of the view's collections, else of any collection."""
    if field in events.fields:
        return [field]

    def owners(names):
        return [f"{name}_{field}" for name in names if field in getattr(events[name], "fields", ())]

    return owners(view.fields) or owners(events.fields)


def build_features(plugin: Plugin, events, view=None) -> Any:
    """``plugin.features`` on ``view``, the declared view of ``events`` (built here when not
    given), an undeclared branch named as such."""
    features: Callable = plugin.features  # type: ignore[assignment]
    view = declared_view(plugin, events) if view is None else view
    try:
        return features(view)
    except (AttributeError, ak.errors.FieldNotFoundError) as exc:
        match = _NO_FIELD.search(str(exc))
        branches = _branch_names(match.group(1), events, view) if match else []
        if not branches:
            raise
        which = branches[0] if len(branches) == 1 else f"one of {branches}"
        raise MissingBranchError(
            f"plugin {plugin.name!r} reads {which}, which it does not declare: add it to the "
            "plugin's required_branches (only declared branches are read in dask mode, so "
            "hepml-coffea gives feature builders nothing else in any mode)"
        ) from exc
