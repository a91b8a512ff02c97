"""Attaching plugin outputs to events as new columns, in every coffea execution mode.

For each plugin: check the required branches, build the features of every object of the
collection (flattened over events), run the model, and unflatten the outputs back onto the
collection as ``events.<collection>.<plugin>_<output>``. Plugins attached together run
together, so features they share are built once per chunk.

Eager and virtual events are processed directly. Dask-awkward events go through one
``dask_awkward.map_partitions`` per collection with a *declared* output type, so building the
graph never runs (or loads) a model. When dask-awkward traces the graph with typetracers to find
the columns to read, the partition function only touches the plugins' declared branches.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence

import awkward as ak
import numpy as np

from hepml_coffea import runtime
from hepml_coffea.branches import (
    branch_path,
    build_features,
    check_required_branches,
    declared_view,
    describe_source,
)
from hepml_coffea.errors import (
    ConfigurationError,
    InvalidInputError,
    MissingBranchError,
    PluginDefinitionError,
)
from hepml_coffea.features.sharing import shared_features
from hepml_coffea.plugin import Plugin
from hepml_coffea.registry import Registry, get_registry

TRACE_ENV = "HEPML_COFFEA_TRACE_PLUGINS"
trace_log = logging.getLogger("hepml_coffea.trace")


def _tracing() -> bool:
    """Whether to trace plugin calls: ``HEPML_COFFEA_TRACE_PLUGINS=1`` (read at each call, which then
    installs a stderr handler once) or a logging configuration that enables ``hepml_coffea.trace``."""
    if os.environ.get(TRACE_ENV, "").strip() in ("", "0"):
        return trace_log.isEnabledFor(logging.INFO)
    if not trace_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[hepml-coffea trace] %(message)s"))
        trace_log.addHandler(handler)
    trace_log.setLevel(logging.INFO)
    return True


def is_dask(events: object) -> bool:
    """Whether ``events`` is a dask-awkward array (built lazily into a graph)."""
    return type(events).__module__.startswith("dask_awkward")


def check_finite(plugin: Plugin, features: np.ndarray, events) -> None:
    if not np.issubdtype(features.dtype, np.floating):
        return
    finite = np.isfinite(features)
    if finite.all():
        return
    per_object = finite.reshape(len(features), -1).all(axis=1)
    bad_objects = int((~per_object).sum())
    if plugin.feature_names and features.ndim >= 2:
        bad = ~finite.reshape(len(features), -1, features.shape[-1]).all(axis=(0, 1))
        which = (
            f" in feature(s) {[n for n, b in zip(plugin.feature_names, bad, strict=False) if b]}"
        )
    else:
        which = ""
    raise InvalidInputError(
        f"plugin {plugin.name!r}: {bad_objects} of {len(features)} {plugin.collection} objects in "
        f"{describe_source(events)} have NaN or infinite inputs{which} (built from branches "
        f"{list(plugin.required_branches)}). Select valid objects before attaching, or fix the "
        "input branches; hepml-coffea does not silently replace them."
    )


def outputs_from_raw(
    plugin: Plugin, raw: np.ndarray | Mapping[str, np.ndarray], events=None
) -> dict[str, np.ndarray]:
    """The output columns of ``plugin`` from its network output (or its features, without a network).

    :param events: the events ``raw`` was built from; a plugin with ``postprocess_events``
        receives their declared view (the one its feature builder saw) as second argument.
    """
    if plugin.postprocess_events:
        if events is None:
            raise PluginDefinitionError(
                f"plugin {plugin.name!r} maps its network output with the events "
                "(postprocess_events): evaluate it through hepml_coffea.attach, which passes them"
            )
        raw = plugin.postprocess(raw, declared_view(plugin, events))
    elif plugin.postprocess is not None:
        raw = plugin.postprocess(raw)
    if isinstance(raw, Mapping):
        columns = dict(raw)
    else:
        matrix = np.asarray(raw).reshape(len(raw), -1)
        if matrix.shape[1] != len(plugin.outputs):
            raise InvalidInputError(
                f"plugin {plugin.name!r} produced {matrix.shape[1]} values per object but "
                f"declares {len(plugin.outputs)} outputs; give it a postprocess that maps them"
            )
        columns = {output.name: matrix[:, i] for i, output in enumerate(plugin.outputs)}
    missing = [output.name for output in plugin.outputs if output.name not in columns]
    if missing:
        raise InvalidInputError(f"plugin {plugin.name!r}: postprocess did not return {missing}")
    return {
        output.name: np.asarray(columns[output.name], dtype=output.dtype).reshape(-1)
        for output in plugin.outputs
    }


def feature_matrix(plugin: Plugin, features, n_objects: int) -> np.ndarray:
    """The feature builder's result as a numpy array with one row per object, or a clear error."""
    contract = (
        f"a feature builder returns a numpy array with one row per {plugin.collection} object, "
        f"flattened over events ({n_objects} here); see docs/plugins.md"
    )
    if isinstance(features, ak.Array):
        try:
            features = ak.to_numpy(features)
        except ValueError:
            raise InvalidInputError(
                f"plugin {plugin.name!r}: its feature builder returned a jagged awkward array "
                f"({features.type}); {contract}. Flatten over events with ak.flatten(x, axis=1), "
                "and pad per-object lists to a fixed length (ak.pad_none + ak.fill_none) first."
            ) from None
    if not isinstance(features, np.ndarray):
        raise InvalidInputError(
            f"plugin {plugin.name!r}: its feature builder returned "
            f"{type(features).__name__}; {contract}"
        )
    if features.ndim == 0 or len(features) != n_objects:
        rows = "a scalar" if features.ndim == 0 else f"{len(features)} rows"
        raise InvalidInputError(
            f"plugin {plugin.name!r}: its feature builder returned {rows} for "
            f"{n_objects} {plugin.collection} objects; {contract}"
        )
    return features


def object_counts(plugin: Plugin, events: ak.Array) -> dict[str, int]:
    """Number of objects, over all events, of every collection ``plugin`` adds columns to."""
    return {c: int(ak.sum(ak.num(events[c], axis=1))) for c in plugin.output_collections}


def evaluate(
    plugin: Plugin, events: ak.Array, registry: Registry | None = None
) -> dict[str, np.ndarray]:
    """Outputs of ``plugin`` for every object of its collection in eager ``events``, flattened.

    An output on another collection (``Output.collection``) runs over that collection's objects.

    :param registry: supplies custom Keras objects for the model; the process-wide one by default.
    """
    counts = object_counts(plugin, events)
    n_objects = counts[plugin.collection]
    if not any(counts.values()):  # empty partition or no objects: nothing to build or load
        return {output.name: np.zeros(0, dtype=output.dtype) for output in plugin.outputs}
    started = time.perf_counter()
    features = build_features(plugin, events)
    if isinstance(features, Mapping) and plugin.artifact is None:
        raw = features  # the builder returned the columns themselves
    else:
        features = feature_matrix(plugin, features, n_objects)
        check_finite(plugin, features, events)
        raw = (
            features
            if plugin.artifact is None
            else runtime.get_model(plugin, registry).predict(features)
        )
    columns = outputs_from_raw(plugin, raw, events)
    for output in plugin.outputs:
        collection = plugin.output_collection(output)
        if len(columns[output.name]) != counts[collection]:
            raise InvalidInputError(
                f"plugin {plugin.name!r}: output {output.name!r} has {len(columns[output.name])} "
                f"values for {counts[collection]} {collection} objects"
            )
    if _tracing():
        trace_log.info(
            "%s -> %s.{%s}: %d objects from %s, artifact %s, %.1f ms",
            plugin.name,
            plugin.collection,
            ",".join(plugin.column_names),
            n_objects,
            describe_source(events),
            plugin.artifact,
            1e3 * (time.perf_counter() - started),
        )
    return columns


def evaluate_plugins(
    plugins: Sequence[Plugin], events: ak.Array, registry: Registry | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`evaluate` for several plugins on the same eager ``events``, keyed by plugin name.

    The plugins share one :func:`shared_features` scope, so a particle cloud or a constituent
    table needed by several of them is built once.
    """
    with shared_features():
        return {plugin.name: evaluate(plugin, events, registry) for plugin in plugins}


def _group_collections(plugins: Sequence[Plugin]) -> tuple[str, ...]:
    """Every collection a group of plugins (all on one collection) adds columns to, theirs first."""
    found: list[str] = []
    for plugin in plugins:
        found += [c for c in plugin.output_collections if c not in found]
    return tuple(found)


def _empty_outputs(plugins: Sequence[Plugin], collection: str) -> ak.Array:
    """Zero-length record ``{plugin name: {output name: value}}`` of the outputs on ``collection``."""
    parts = {}
    for plugin in plugins:
        outputs = [o for o in plugin.outputs if plugin.output_collection(o) == collection]
        if outputs:
            parts[plugin.name] = ak.zip({o.name: np.zeros(0, dtype=o.dtype) for o in outputs})
    return ak.zip(parts, depth_limit=1)


class _PartitionEvaluator:
    """The function mapped over dask partitions (a class so it pickles with its plugins).

    Returns, per object of the collection, one record field per plugin holding its outputs.
    When the plugins also add columns to other collections (``Output.collection``), it returns
    instead one record per event with one such jagged field per collection.
    ``registry`` (None: the worker's process-wide one) supplies custom Keras objects.
    """

    def __init__(self, plugins: Sequence[Plugin], registry: Registry | None = None):
        self.plugins = tuple(plugins)
        self.collection = self.plugins[0].collection
        self.collections = _group_collections(self.plugins)
        self.registry = registry

    def _per_collection(self, records: dict[str, ak.Array], events) -> ak.Array:
        jagged = {c: ak.unflatten(records[c], ak.num(events[c], axis=1)) for c in self.collections}
        if len(self.collections) == 1:
            return jagged[self.collection]
        return ak.zip(jagged, depth_limit=1)

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
        outputs = evaluate_plugins(self.plugins, events, self.registry)
        records = {}
        for collection in self.collections:
            parts = {}
            for plugin in self.plugins:
                columns = {
                    o.name: outputs[plugin.name][o.name]
                    for o in plugin.outputs
                    if plugin.output_collection(o) == collection
                }
                if columns:
                    parts[plugin.name] = ak.zip(columns)
            records[collection] = ak.zip(parts, depth_limit=1)
        return self._per_collection(records, events)


def _output_meta(plugins: Sequence[Plugin]) -> ak.Array:
    collections = _group_collections(plugins)
    empty = {
        c: ak.unflatten(_empty_outputs(plugins, c), np.zeros(0, dtype=np.int64))
        for c in collections
    }
    meta = empty[plugins[0].collection] if len(collections) == 1 else ak.zip(empty, depth_limit=1)
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


def _by_collection(plugins: Sequence[Plugin]) -> dict[str, list[Plugin]]:
    """Group plugins by the collection they decorate, refusing two different plugins of one name."""
    groups: dict[str, list[Plugin]] = {}
    seen: dict[str, Plugin] = {}
    for plugin in plugins:
        if plugin.name in seen:
            if seen[plugin.name] != plugin:
                raise PluginDefinitionError(
                    f"two different plugins are both named {plugin.name!r}; their columns "
                    "would clash: rename one of them"
                )
            continue
        seen[plugin.name] = plugin
        groups.setdefault(plugin.collection, []).append(plugin)
    return groups


def attach(events, plugins: Iterable[str | Plugin] | str, *, registry: Registry | None = None):
    """Return ``events`` with the outputs of ``plugins`` added to their collections.

    Works on eager, virtual and dask-awkward NanoEvents; the returned events have the same
    type and behaviours, with ``events.<collection>.<plugin>_<output>`` columns. Plugins of
    one call that decorate the same collection run together (one dask task per partition),
    building features they share only once.

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
    groups = _by_collection(resolve_plugins(plugins, registry))
    for group in groups.values():
        for plugin in group:
            try:
                check_required_branches(plugin, events)
            except MissingBranchError as exc:
                if not plugin.input_hint:
                    raise
                raise MissingBranchError(
                    f"{exc} For {plugin.name!r}: {plugin.input_hint}."
                ) from None
    for group in groups.values():
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
                per_object = values[target] if several else values
                events = with_field(
                    events,
                    per_object[plugin.name][output.name],
                    where=(target, plugin.column_name(output)),
                )
    return events
