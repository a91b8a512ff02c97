"""Attaching plugin outputs to events as new columns, in every coffea execution mode.

For each plugin: check the required branches, run its pipeline (:mod:`hepml_coffea.pipeline`) on
every object of the collection (flattened over events), and unflatten the outputs back onto the
collection as ``events.<collection>.<plugin>_<output>``. Plugins attached together run
together, so features they share are built once per chunk.

Eager and virtual events are processed directly. Dask-awkward events go through one
``dask_awkward.map_partitions`` per collection with a *declared* output type, so building the
graph never runs (or loads) a model. When dask-awkward traces the graph with typetracers to find
the columns to read, the partition function only touches the plugins' declared branches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import awkward as ak
import numpy as np

from hepml_coffea.branches import branch_path, check_required_branches
from hepml_coffea.errors import ConfigurationError, MissingBranchError, PluginDefinitionError
from hepml_coffea.pipeline import run_plugins
from hepml_coffea.plugin import Plugin
from hepml_coffea.registry import Registry, get_registry


def is_dask(events: object) -> bool:
    """Whether ``events`` is a dask-awkward array (built lazily into a graph)."""
    return type(events).__module__.startswith("dask_awkward")


#: the field holding event-level outputs when a group also fills collections
EVENTS_FIELD = "@events"


def _field(collection: str | None) -> str:
    return EVENTS_FIELD if collection is None else collection


def _group_collections(plugins: Sequence[Plugin]) -> tuple[str | None, ...]:
    """Every collection a group of plugins (all on one collection, or all event-level) adds
    columns to, theirs first; None stands for the events themselves."""
    found: list[str | None] = []
    for plugin in plugins:
        found += [c for c in plugin.output_collections if c not in found]
    return tuple(found)


def _empty_outputs(plugins: Sequence[Plugin], collection: str | None) -> ak.Array:
    """Zero-length record ``{plugin name: {output name: value}}`` of the outputs on ``collection``."""
    parts = {}
    for plugin in plugins:
        outputs = plugin.outputs_on(collection)
        if outputs:
            parts[plugin.name] = ak.zip({o.name: np.zeros(0, dtype=o.dtype) for o in outputs})
    return ak.zip(parts, depth_limit=1)


class _PartitionEvaluator:
    """The function mapped over dask partitions (a class so it pickles with its plugins).

    Returns, per object of the collection (per event for event-level plugins), one record field
    per plugin holding its outputs. When the plugins also add columns to other collections
    (``Output.collection``), it returns instead one record per event with one such field per
    collection (:data:`EVENTS_FIELD` for the event-level outputs).
    ``registry`` (None: the worker's process-wide one) supplies custom Keras objects.
    """

    def __init__(self, plugins: Sequence[Plugin], registry: Registry | None = None):
        self.plugins = tuple(plugins)
        self.collection = self.plugins[0].collection
        self.collections = _group_collections(self.plugins)
        self.registry = registry

    def _per_collection(self, records: dict[str | None, ak.Array], events) -> ak.Array:
        per_event = {
            c: records[c] if c is None else ak.unflatten(records[c], ak.num(events[c], axis=1))
            for c in self.collections
        }
        if len(self.collections) == 1:
            return per_event[self.collection]
        return ak.zip({_field(c): v for c, v in per_event.items()}, depth_limit=1)

    def __call__(self, events) -> ak.Array:
        if ak.backend(events) == "typetracer":
            # dask-awkward is tracing which columns to read: report ours, run nothing.
            fields = events.fields
            for branch in sorted({b for plugin in self.plugins for b in plugin.required_branches}):
                column = events
                for part in branch_path(branch, fields):
                    column = column[part]
                ak.typetracer.touch_data(column)
            records = {
                c: ak.Array(
                    _empty_outputs(self.plugins, c).layout.to_typetracer(forget_length=True)
                )
                for c in self.collections
            }
            return self._per_collection(records, events)
        outputs = run_plugins(self.plugins, events, self.registry)
        records = {}
        for collection in self.collections:
            parts = {}
            for plugin in self.plugins:
                columns = {
                    o.name: outputs[plugin.name][o.name] for o in plugin.outputs_on(collection)
                }
                if columns:
                    parts[plugin.name] = ak.zip(columns)
            records[collection] = ak.zip(parts, depth_limit=1)
        return self._per_collection(records, events)


def _output_meta(plugins: Sequence[Plugin]) -> ak.Array:
    collections = _group_collections(plugins)
    empty = {
        _field(c): _empty_outputs(plugins, c)
        if c is None
        else ak.unflatten(_empty_outputs(plugins, c), np.zeros(0, dtype=np.int64))
        for c in collections
    }
    meta = (
        empty[_field(plugins[0].collection)]
        if len(collections) == 1
        else ak.zip(empty, depth_limit=1)
    )
    return ak.Array(meta.layout.to_typetracer(forget_length=True))


def resolve_plugins(
    plugins: Iterable[str | Plugin] | str, registry: Registry | None = None
) -> list[Plugin]:
    """Turn names (or a comma-separated string) and Plugin objects into Plugin objects."""
    if isinstance(plugins, (str, Plugin)):
        plugins = [plugins]
    resolved = []
    for item in plugins:
        if isinstance(item, Plugin):
            resolved.append(item)
        else:
            for name in str(item).split(","):
                if name.strip():
                    resolved.append((registry or get_registry()).get(name.strip()))
    return resolved


def dependency_order(plugins: Sequence[Plugin]) -> list[Plugin]:
    """``plugins`` and every plugin they read (:attr:`Plugin.reads`), each once, dependencies
    first; a cycle, or two different plugins of one name, refused in one line."""
    ordered: list[Plugin] = []
    seen: dict[str, Plugin] = {}
    visiting: list[str] = []

    def visit(plugin: Plugin) -> None:
        if plugin.name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(plugin.name) :], plugin.name])
            raise PluginDefinitionError(
                f"plugins read each other's outputs in a cycle ({cycle}); a plugin may read only"
                " plugins that do not read it back"
            )
        if plugin.name in seen:
            if seen[plugin.name] != plugin:
                raise PluginDefinitionError(
                    f"two different plugins are both named {plugin.name!r}; their columns "
                    "would clash: rename one of them"
                )
            return
        visiting.append(plugin.name)
        for dependency in plugin.reads:
            visit(dependency)
        visiting.pop()
        seen[plugin.name] = plugin
        ordered.append(plugin)

    for plugin in plugins:
        visit(plugin)
    return ordered


def _groups(plugins: Sequence[Plugin]) -> list[list[Plugin]]:
    """Plugins that run together per chunk (one dask task): those on the same collection (None:
    event-level), joined with the plugins they read; in dependency order."""
    group_of: dict[str | None, list[Plugin]] = {}
    for plugin in plugins:
        group = group_of.setdefault(plugin.collection, [])
        for dependency in plugin.reads:
            other = group_of[dependency.collection]
            if other is not group:  # merge the dependency's group into this one
                group[:0] = other
                for key, value in group_of.items():
                    if value is other:
                        group_of[key] = group
        group.append(plugin)
    unique: list[list[Plugin]] = []
    for group in group_of.values():
        if not any(group is other for other in unique):
            unique.append(group)
    return unique


def attach(events, plugins: Iterable[str | Plugin] | str, *, registry: Registry | None = None):
    """Return ``events`` with the outputs of ``plugins`` added to their collections.

    Works on eager, virtual and dask-awkward NanoEvents; the returned events have the same
    type and behaviours, with ``events.<collection>.<plugin>_<output>`` columns (and
    ``events.<plugin>_<output>`` for event-level plugins). Plugins of
    one call that decorate the same collection run together (one dask task per partition),
    building features they share only once. A plugin that reads others' outputs
    (``"pfn@puppi"``, :mod:`hepml_coffea.composition`) runs after them, in the same task; they
    are attached too, listed or not, and computed once per chunk.

    :param events: NanoEvents from ``NanoEventsFactory`` or a coffea processor.
    :param plugins: plugin names (``"cutbased,substructure_dnn"``) or :class:`Plugin` objects.
    :param registry: where to look names up and which custom Keras objects models may use; the
        process-wide registry by default.
    """
    if events.ndim != 1:
        raise ConfigurationError(
            f"attach takes the events (one entry per event, a processor's `events`), not a"
            f" collection such as events.FatJet; got an array of {events.ndim} dimensions"
        )
    dask = is_dask(events)
    if dask:
        import dask_awkward as dak
    groups = _groups(dependency_order(resolve_plugins(plugins, registry)))
    for group in groups:
        for plugin in group:
            try:
                check_required_branches(plugin, events)
            except MissingBranchError as exc:
                if not plugin.input_hint:
                    raise
                raise MissingBranchError(
                    f"{exc} For {plugin.name!r}: {plugin.input_hint}."
                ) from None
    for group in groups:
        if dask:
            label = "hepml-" + "-".join(plugin.name for plugin in group)
            values = dak.map_partitions(
                _PartitionEvaluator(group, registry), events, meta=_output_meta(group), label=label
            )
            with_field = dak.with_field
        else:
            values = _PartitionEvaluator(group, registry)(events)
            with_field = ak.with_field
        several = len(_group_collections(group)) > 1
        for plugin in group:
            for output in plugin.outputs:
                target = plugin.output_collection(output)
                per_object = values[_field(target)] if several else values
                column = plugin.column_name(output)
                events = with_field(
                    events,
                    per_object[plugin.name][output.name],
                    where=column if target is None else (target, column),
                )
    return events
