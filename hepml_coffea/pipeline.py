"""One plugin on one chunk of eager events: the only place its stages are put together.

    events -> declared view -> features -> checks -> model -> postprocess -> columns

:func:`attach` (every execution mode), the training datasets, ``evaluate``, ``evaluate-pileup``,
``evaluate-anomaly`` and the demo all go through :func:`prepare` and :func:`columns` (or
:func:`run_plugin`, both at once), so what a network is trained on is what it is evaluated and
run on. The declared view (:mod:`hepml_coffea.branches`) is built once per plugin and chunk and
handed to the feature builder and to an events-aware postprocess alike.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepml_coffea import runtime
from hepml_coffea.branches import build_features, declared_view, describe_source
from hepml_coffea.errors import InvalidInputError
from hepml_coffea.features.sharing import shared_features
from hepml_coffea.plugin import Plugin, objects_of
from hepml_coffea.registry import Registry

TRACE_ENV = "HEPML_COFFEA_TRACE_PLUGINS"

#: what a model takes: one array, or one per named input (first axis the objects in both)
Features = np.ndarray | dict[str, np.ndarray]
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


@dataclass(frozen=True)
class Prepared:
    """What a plugin's feature builder made of one chunk, checked and ready for its model.

    :attr view: the declared view of the events, as the feature builder saw it.
    :attr counts: objects, over all events, of every collection the plugin adds columns to.
    :attr features: one row per object of the plugin's collection, or ``{input name: such
        rows}`` for a model with named inputs; None when the builder returned the output
        columns itself (a plugin without a network, ``direct``).
    :attr direct: the output columns a builder without a network returned, else None.
    """

    plugin: Plugin
    view: ak.Array
    counts: Mapping[str | None, int]
    features: Features | None
    direct: Mapping[str, np.ndarray] | None = None

    @property
    def n_objects(self) -> int:
        return self.counts[self.plugin.collection]


def object_counts(plugin: Plugin, events: ak.Array) -> dict[str | None, int]:
    """Number of objects, over all events, of every collection ``plugin`` adds columns to (of
    events, for the events themselves: key None)."""
    return {
        c: len(events) if c is None else int(ak.sum(ak.num(events[c], axis=1)))
        for c in plugin.output_collections
    }


def feature_matrix(plugin: Plugin, features, n_objects: int, input_name: str = "") -> np.ndarray:
    """The feature builder's result (or one named input of it) as a numpy array with one row per
    object, or a clear error."""
    what = f"its feature builder returned{f' for input {input_name!r}' if input_name else ''}"
    contract = (
        f"a feature builder returns a numpy array with one row per {plugin.objects[:-1]}"
        + ("" if plugin.collection is None else ", flattened over events")
        + f" ({n_objects} here), or {{input name: such an array}} for a model with named"
        " inputs; see docs/plugins.md"
    )
    if isinstance(features, ak.Array):
        try:
            features = ak.to_numpy(features)
        except ValueError:
            raise InvalidInputError(
                f"plugin {plugin.name!r}: {what} a jagged awkward array "
                f"({features.type}); {contract}. Flatten over events with ak.flatten(x, axis=1), "
                "and pad per-object lists to a fixed length (ak.pad_none + ak.fill_none) first."
            ) from None
    if not isinstance(features, np.ndarray):
        raise InvalidInputError(
            f"plugin {plugin.name!r}: {what} {type(features).__name__}; {contract}"
        )
    if features.ndim == 0 or len(features) != n_objects:
        rows = "a scalar" if features.ndim == 0 else f"{len(features)} rows"
        raise InvalidInputError(
            f"plugin {plugin.name!r}: {what} {rows} for {n_objects} {plugin.objects}; {contract}"
        )
    return features


def feature_arrays(plugin: Plugin, features, n_objects: int) -> Features:
    """:func:`feature_matrix` of one array, or of each named input of a mapping."""
    if isinstance(features, Mapping):
        return {
            str(name): feature_matrix(plugin, values, n_objects, str(name))
            for name, values in features.items()
        }
    return feature_matrix(plugin, features, n_objects)


def first_rows(features: Features, n: int) -> Features:
    """The first ``n`` objects of ``features`` (of each named input)."""
    if isinstance(features, Mapping):
        return {name: values[:n] for name, values in features.items()}
    return features[:n]


def check_finite(plugin: Plugin, features: Features, events) -> None:
    """Refuse NaN or infinite features, naming the plugin, the file and the features (or input)."""
    if isinstance(features, Mapping):
        for name, values in features.items():
            _check_finite(plugin, values, events, f" in input {name!r}")
    else:
        _check_finite(plugin, features, events)


def _check_finite(plugin: Plugin, features: np.ndarray, events, where: str = "") -> None:
    if not np.issubdtype(features.dtype, np.floating):
        return
    finite = np.isfinite(features)
    if finite.all():
        return
    per_object = finite.reshape(len(features), -1).all(axis=1)
    bad_objects = int((~per_object).sum())
    if not where and plugin.feature_names and features.ndim >= 2:
        bad = ~finite.reshape(len(features), -1, features.shape[-1]).all(axis=(0, 1))
        where = (
            f" in feature(s) {[n for n, b in zip(plugin.feature_names, bad, strict=False) if b]}"
        )
    raise InvalidInputError(
        f"plugin {plugin.name!r}: {bad_objects} of {len(features)} {plugin.objects} in "
        f"{describe_source(events)} have NaN or infinite inputs{where} (built from branches "
        f"{list(plugin.required_branches)}). Select valid objects before attaching, or fix the "
        "input branches; hepml-coffea does not silently replace them."
    )


def prepare(
    plugin: Plugin,
    events: ak.Array,
    counts: Mapping[str | None, int] | None = None,
    registry: Registry | None = None,
) -> Prepared:
    """The declared view and checked features of ``plugin`` on eager ``events`` (the columns of
    the plugins it reads computed first, where the events lack them).

    :param counts: :func:`object_counts` of the events where the caller has them already.
    :param registry: for the models of the plugins it reads; the process-wide one by default.
    """
    events = with_dependencies(plugin, events, registry)
    counts = object_counts(plugin, events) if counts is None else counts
    view = declared_view(plugin, events)
    built = build_features(plugin, events, view)
    if isinstance(built, Mapping) and plugin.artifact is None:
        return Prepared(plugin, view, counts, None, direct=built)
    features = feature_arrays(plugin, built, counts[plugin.collection])
    check_finite(plugin, features, events)
    return Prepared(plugin, view, counts, features)


def predict(prepared: Prepared, registry: Registry | None = None):
    """The network output for prepared features (the features themselves without a network,
    the builder's columns where it returned them)."""
    plugin = prepared.plugin
    if prepared.direct is not None:
        return prepared.direct
    if plugin.artifact is None:
        return prepared.features
    model = runtime.get_model(plugin, registry)
    return model.predict(prepared.features, plugin_name=plugin.name)


def columns(prepared: Prepared, raw) -> dict[str, np.ndarray]:
    """The output columns of a plugin from its network output ``raw`` on ``prepared``: its
    postprocess applied (given the declared view where it asks for the events), one 1-d array
    per output of the declared dtype, each as long as its collection."""
    plugin = prepared.plugin
    if plugin.postprocess_events:
        raw = plugin.postprocess(raw, prepared.view)
    elif plugin.postprocess is not None:
        raw = plugin.postprocess(raw)
    if isinstance(raw, Mapping):
        found = dict(raw)
    else:
        matrix = np.asarray(raw).reshape(len(raw), -1)
        if matrix.shape[1] != len(plugin.outputs):
            raise InvalidInputError(
                f"plugin {plugin.name!r} produced {matrix.shape[1]} values per object but "
                f"declares {len(plugin.outputs)} outputs; give it a postprocess that maps them"
            )
        found = {output.name: matrix[:, i] for i, output in enumerate(plugin.outputs)}
    missing = [output.name for output in plugin.outputs if output.name not in found]
    if missing:
        raise InvalidInputError(f"plugin {plugin.name!r}: postprocess did not return {missing}")
    result = {}
    for output in plugin.outputs:
        values = np.asarray(found[output.name], dtype=output.dtype).reshape(-1)
        collection = plugin.output_collection(output)
        if len(values) != prepared.counts[collection]:
            raise InvalidInputError(
                f"plugin {plugin.name!r}: output {output.name!r} has {len(values)} "
                f"values for {prepared.counts[collection]} {objects_of(collection)}"
            )
        result[output.name] = values
    return result


def output_rows(prepared: Prepared, raw=None) -> np.ndarray:
    """The plugin's outputs on its own collection as one row per object, one column per output,
    from the network output ``raw`` (run here when not given): the scores datasets hold."""
    plugin = prepared.plugin
    found = columns(prepared, predict(prepared) if raw is None else raw)
    return np.stack([found[o.name] for o in plugin.outputs_on(plugin.collection)], axis=1)


def empty_columns(plugin: Plugin) -> dict[str, np.ndarray]:
    return {output.name: np.zeros(0, dtype=output.dtype) for output in plugin.outputs}


def run_plugin(
    plugin: Plugin, events: ak.Array, registry: Registry | None = None
) -> dict[str, np.ndarray]:
    """Outputs of ``plugin`` for every object of its collection in eager ``events``, flattened.

    An output on another collection (``Output.collection``) runs over that collection's objects.

    :param registry: supplies custom Keras objects for the model; the process-wide one by default.
    """
    counts = object_counts(plugin, events)
    if not any(counts.values()):
        return empty_columns(plugin)  # empty partition or no objects: nothing to build or load
    started = time.perf_counter()
    prepared = prepare(plugin, events, counts, registry)
    result = columns(prepared, predict(prepared, registry))
    if _tracing():
        trace_log.info(
            "%s -> %s.{%s}: %d %s from %s, artifact %s, %.1f ms",
            plugin.name,
            plugin.collection or "events",
            ",".join(plugin.column_names),
            prepared.n_objects,
            plugin.objects.split()[-1],
            describe_source(events),
            plugin.artifact,
            1e3 * (time.perf_counter() - started),
        )
    return result


def has_columns(plugin: Plugin, events: ak.Array) -> bool:
    """Whether ``events`` hold every column of ``plugin`` already."""
    for output in plugin.outputs:
        target, column = plugin.output_collection(output), plugin.column_name(output)
        fields = events.fields if target is None else getattr(events[target], "fields", ())
        if column not in fields:
            return False
    return True


def with_columns(events: ak.Array, outputs: Mapping[Plugin, Mapping[str, np.ndarray]]) -> ak.Array:
    """Eager ``events`` with each plugin's flat outputs (as :func:`run_plugin` returns them)
    added as columns, where :func:`hepml_coffea.attach` puts them."""
    for plugin, columns in outputs.items():
        for output in plugin.outputs:
            target, column = plugin.output_collection(output), plugin.column_name(output)
            values = columns[output.name]
            if target is None:
                events = ak.with_field(events, values, where=column)
            else:
                jagged = ak.unflatten(values, ak.num(events[target], axis=1))
                events = ak.with_field(events, jagged, where=(target, column))
    return events


def with_dependencies(
    plugin: Plugin,
    events: ak.Array,
    registry: Registry | None = None,
    known: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> ak.Array:
    """``events`` with the columns of every plugin ``plugin`` reads (:attr:`Plugin.reads`),
    taken from ``known`` outputs (by plugin name) where there, else computed here."""
    missing = [dependency for dependency in plugin.reads if not has_columns(dependency, events)]
    if not missing:
        return events
    known = known or {}
    outputs = {
        dependency: known[dependency.name]
        if dependency.name in known
        else run_plugin(dependency, with_dependencies(dependency, events, registry), registry)
        for dependency in missing
    }
    return with_columns(events, outputs)


def run_plugins(
    plugins: Sequence[Plugin], events: ak.Array, registry: Registry | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`run_plugin` for several plugins on the same eager ``events``, keyed by plugin name.

    The plugins share one :func:`shared_features` scope, so a particle cloud or a constituent
    table needed by several of them is built once. ``plugins`` come dependencies first
    (:func:`hepml_coffea.columns.dependency_order`); a plugin that reads others gets the events
    with their columns, computed once per chunk, and the plugins reading the same ones get the
    same events (so they share features too).
    """
    results: dict[str, dict[str, np.ndarray]] = {}
    with_read = events
    with shared_features():
        for plugin in plugins:
            source = events
            if plugin.reads:
                with_read = source = with_dependencies(plugin, with_read, registry, results)
            results[plugin.name] = run_plugin(plugin, source, registry)
    return results
