"""Measured inference defaults for an artifact: the backend and the batch size its card carries.

The two backends are fast at different things. ONNX Runtime wins on small dense networks, where
TensorFlow's per-call cost dominates; on the large graph networks the difference is small.
Which one a network should use is therefore measured, per network, on the machine at hand:
:func:`measure_inference` times the model alone (``LoadedModel.predict``, standardisation and
mini-batching included) on each backend, and for the faster one on larger batches, with the
candidates interleaved so that a load change on a shared machine hits all of them alike.
:func:`tune_artifact` writes the winner into the card (``backend``, ``batch_size``) with the
measurement in ``metrics["inference"]``; a backend or batch size replaces the default only
when it is faster by more than :data:`MIN_GAIN`.

Larger batches cost memory in proportion to the activations of one row, so a batch size is
tried only where ``rows x activations x 4 bytes`` stays below :data:`ACTIVATION_BUDGET_BYTES`
(:func:`activation_floats_per_row`).

Imports Keras and ONNX Runtime: for tuning artifacts, never at run time.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hepml_coffea.artifacts import CARD_FILE, ModelCard, read_card
from hepml_coffea.errors import ArtifactError
from hepml_coffea.plugin import Plugin

#: batch sizes tried beyond the runtime's default, where their activations fit the budget
BATCH_CANDIDATES = (16_384, 65_536)
#: the most memory one batch's activations may take (float32 outputs of every layer)
ACTIVATION_BUDGET_BYTES = 256 * 2**20
#: how much faster (fraction of the time) a backend or batch must be to replace the default
MIN_GAIN = 0.10
#: a call on the measured rows takes about this long on the default backend (bounded below)
TARGET_CALL_SECONDS = 0.5


def activation_floats_per_row(model: Any) -> int:
    """Floats one input row produces across all layer outputs of a Keras ``model`` (nested
    models counted through their layers): what a batch's memory grows with."""
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):
            total += activation_floats_per_row(layer)
            continue
        outputs = layer.output if isinstance(layer.output, list | tuple) else [layer.output]
        for output in outputs:
            shape = [d for d in output.shape[1:] if d is not None]
            total += int(np.prod(shape)) if shape else 1
    return total


def affordable_batches(floats_per_row: int, default: int) -> list[int]:
    """The default batch size and those of :data:`BATCH_CANDIDATES` within the memory budget."""
    limit = ACTIVATION_BUDGET_BYTES // max(4 * floats_per_row, 1)
    return [default, *(b for b in BATCH_CANDIDATES if default < b <= limit)]


def interleaved_times(
    variants: Mapping[str, Callable[[], object]], repeats: int
) -> dict[str, list[float]]:
    """Wall times of ``repeats`` rounds in which every variant runs once, after one untimed
    warm-up call each: a load change on a shared machine hits all variants alike. Each round
    starts one variant later than the previous, so that no variant always runs first (after
    another one's cache misses) or last."""
    for call in variants.values():
        call()
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - started)
    return times


def interleaved_medians(variants: Mapping[str, Callable[[], object]], repeats: int) -> dict:
    """Median and range of each variant's :func:`interleaved_times`, in seconds."""
    return {
        name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}
        for name, t in interleaved_times(variants, repeats).items()
    }


def measure_inference(
    plugin: Plugin, *, rows: int | None = None, repeats: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Time ``plugin``'s model alone on both backends (and on larger batches of the faster one).

    The inputs are the export check inputs (:func:`hepml_coffea.export.check_inputs`) tiled to
    ``rows`` (by default as many as one default-backend call handles in about
    :data:`TARGET_CALL_SECONDS`, at least 1,024 and at most 100,000).
    """
    from hepml_coffea import runtime
    from hepml_coffea.export import check_inputs

    card = read_card(plugin.artifact, plugin.name)
    if set(card.formats) != set(runtime.BACKENDS):
        raise ArtifactError(
            f"plugin {plugin.name!r}: tuning compares both backends, but {plugin.artifact} has "
            f"only {', '.join(card.formats)}; export it first (hepml_coffea.export.export_onnx)"
        )
    models = {name: runtime.get_model(plugin, backend=name) for name in runtime.BACKENDS}
    default_batch = runtime.config.settings.batch_size_for(None)
    if rows is None:
        probe = check_inputs(card, rows=1024, seed=seed)  # large enough to time rows, not calls
        models["keras"].predict(probe)
        started = time.perf_counter()
        models["keras"].predict(probe)
        per_row = (time.perf_counter() - started) / len(probe)
        rows = int(np.clip(TARGET_CALL_SECONDS / per_row, 1024, 100_000))
    base = check_inputs(card, rows=min(rows, 4096), seed=seed)
    x = np.resize(base, (rows, *base.shape[1:]))

    def variant(backend: str, batch: int) -> Callable[[], object]:
        return lambda: models[backend].predict(x, batch_size=batch)

    backends = interleaved_medians(
        {name: variant(name, default_batch) for name in runtime.BACKENDS}, repeats
    )
    faster = min(backends, key=lambda name: backends[name]["median_s"])
    floats = activation_floats_per_row(models["keras"].model)
    batches = [
        b for b in affordable_batches(floats, default_batch) if b < rows or b == default_batch
    ]
    by_batch = interleaved_medians({str(b): variant(faster, b) for b in batches}, repeats)
    return {
        "rows": rows,
        "repeats": repeats,
        "default_batch_size": default_batch,
        "activation_floats_per_row": floats,
        "backends": backends,
        "batch_sizes": {"backend": faster, **by_batch},
    }


def choose_defaults(measurement: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The card's ``backend`` and ``batch_size`` from :func:`measure_inference`'s numbers: each
    only where it beats the default by more than :data:`MIN_GAIN`; None keeps the default."""
    backends = measurement["backends"]
    keras_time = backends["keras"]["median_s"]
    onnx_time = backends["onnx"]["median_s"]
    backend = "onnx" if onnx_time < (1 - MIN_GAIN) * keras_time else None
    by_batch = {k: v for k, v in measurement["batch_sizes"].items() if k != "backend"}
    if measurement["batch_sizes"]["backend"] != (backend or "keras"):
        return backend, None  # the batches were timed on the backend that did not win by enough
    default = str(measurement["default_batch_size"])
    best = min(by_batch, key=lambda b: by_batch[b]["median_s"])
    gain = by_batch[best]["median_s"] < (1 - MIN_GAIN) * by_batch[default]["median_s"]
    return backend, int(best) if best != default and gain else None


def tune_artifact(
    plugin: Plugin, *, rows: int | None = None, repeats: int = 5, command: str = ""
) -> ModelCard:
    """Measure ``plugin``'s artifact, write the chosen ``backend`` and ``batch_size`` into its
    card and the numbers, machine and date into ``metrics["inference"]``; returns the card."""
    measurement = measure_inference(plugin, rows=rows, repeats=repeats)
    backend, batch_size = choose_defaults(measurement)
    directory = Path(plugin.artifact)
    card = read_card(directory, plugin.name)
    measurement.update(
        {
            "chosen": {"backend": backend or "keras", "batch_size": batch_size},
            "command": command,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or platform.system()}",
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
    )
    card = dataclasses.replace(
        card,
        backend=backend,
        batch_size=batch_size,
        metrics={**card.metrics, "inference": measurement},
    )
    (directory / CARD_FILE).write_text(card.to_json())
    return card
