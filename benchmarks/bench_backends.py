"""Inference backends side by side, per shipped network: the model alone against the floors, and
``attach`` (Keras and ONNX Runtime backends) against ``coffea.ml_tools.tf_wrapper`` subclasses in
eager, virtual and dask mode.

Model alone, on the same rows (the sample's jets, repeated as needed), for each number of rows
per call: ``LoadedModel.predict``
with the Keras backend (one ``tf.function``, dynamic batch axis, mini-batches) and the ONNX
backend; the old runtime (mini-batches padded to a power of two, ``predict_on_batch``); and the
floors, one call on all rows: ``predict_on_batch``, ``tf.function`` and plain ``model(x)``
(what tf_wrapper does). Reported: the median over interleaved repeats (variants take turns in
every repeat, so load on a shared machine hits them alike), the spread (min-max) and each
variant's time over the best floor's. A size is skipped for a network when one call would take
longer than ``--max-call-seconds`` at the rate measured at the previous size.

Attach, end to end (the scores as a new ``FatJet`` column, computed): ours with each backend;
a tf_wrapper subclass whose ``prepare_awkward`` calls the same hepml-coffea feature builder (only
the machinery differs; not in dask mode, where tf_wrapper hands it dask-awkward arrays); and one
whose inputs are built with awkward operations as a coffea user writes them
(``coffea_idiom.py``). Eager events are read once; virtual ones are opened by every call; dask
ones are computed (read included) by every call, on dask's threaded scheduler.

    python benchmarks/bench_backends.py [--repeats 5] [--sizes 1 10 1000 1025 2049 10000 100000]
        [--networks pfn,particlenet_lite] [--model-networks pfn] [--events 5000]
        [--modes eager virtual dask] [--max-call-seconds 4] [--floor-max-rows NETWORK=ROWS]
        [--threads N] [--batch-sizes 1024 16384] [--skip-model] [--skip-attach]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from hepml_coffea.tuning import interleaved_times

NETWORKS = "substructure_dnn,topodnn,pfn,efn,pfn_md,pfn_ddt,deeptop_cnn,particlenet_lite"


def summary(times: list[float]) -> str:
    return f"{1e3 * statistics.median(times):9.2f} [{1e3 * min(times):.2f}-{1e3 * max(times):.2f}]"


def padded_predict(model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The runtime before issue 15: batches zero-padded to the next power of two (at least 16)."""
    pieces = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        bucket = min(batch_size, max(16, 1 << (len(batch) - 1).bit_length()))
        if bucket != len(batch):
            batch = np.concatenate([batch, np.zeros((bucket - len(batch), *x.shape[1:]), x.dtype)])
        pieces.append(np.asarray(model.predict_on_batch(batch))[: min(batch_size, len(x) - start)])
    return np.concatenate(pieces)


FLOORS = ("pob", "tff", "call")


def _sample_jets(plugin) -> np.ndarray:
    """The plugin's input rows for every FatJet of the benchmark's QCD sample (real jets: random
    rows made EdgeConv's nearest neighbours tie, and the variants disagree on ties)."""
    from hepml_coffea import open_nanoaod
    from hepml_coffea.samples import cached_sample

    events = open_nanoaod(cached_sample("qcd", 10_000, seed=202), "eager", quiet=True)
    return np.asarray(plugin.features(events), dtype=np.float32)


def model_alone(
    name: str,
    sizes: list[int],
    repeats: int,
    max_call_seconds: float,
    floor_max_rows: int | None = None,
    batch_sizes: tuple[int, ...] = (),
) -> None:
    import tensorflow as tf

    from hepml_coffea import get_registry, runtime

    plugin = get_registry().get(name)
    keras_model = runtime.get_model(plugin, backend="keras")
    onnx_model = runtime.get_model(plugin, backend="onnx")
    model = keras_model.model
    spec = tf.TensorSpec((None, *keras_model.input_shape), tf.float32)
    floor_function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    jets = _sample_jets(plugin)
    print(f"\n## model alone: {name} ({keras_model.parameter_count} parameters)")
    print(
        "rows | ours keras [ms] | ours onnx [ms] | old padded [ms] | floor predict_on_batch |"
        " floor tf.function | floor model(x)"
        + "".join(f" | keras batch {b} [ms]" for b in batch_sizes)
        + " | keras/floor | onnx/floor | old/floor"
        + "".join(f" | keras batch {b}/floor" for b in batch_sizes)
        + " | rows/s keras, onnx"
    )
    rate, floor_per_row = None, None
    batched = [f"batch {b}" for b in batch_sizes]
    for n in sizes:
        if rate is not None and n / rate > max_call_seconds:
            print(f"{n} | skipped: one call would take about {n / rate:.0f} s")
            continue
        raw = jets[np.arange(n) % len(jets)]
        x = keras_model.standardise(raw)
        variants = {
            "keras": lambda raw=raw: keras_model.predict(raw),
            "onnx": lambda raw=raw: onnx_model.predict(raw),
            "old": lambda x=x: padded_predict(model, x),
            "pob": lambda x=x: model.predict_on_batch(x),
            "tff": lambda x=x: np.asarray(floor_function(x)),
            "call": lambda x=x: np.asarray(model(x, training=False)),
            **{
                f"batch {b}": lambda raw=raw, b=b: keras_model.predict(raw, batch_size=b)
                for b in batch_sizes
            },
        }
        # same computation on every variant, to 1e-4: the batch length changes the order of
        # float sums (tests/test_onnx.py holds the two backends to 1e-5)
        floors_run = floor_max_rows is None or n <= floor_max_rows
        if not floors_run:  # one call on all rows would not fit in memory
            variants = {k: v for k, v in variants.items() if k not in FLOORS}
        reference = variants["pob" if floors_run else "keras"]()
        np.testing.assert_allclose(variants["keras"](), reference, atol=1e-4)
        np.testing.assert_allclose(variants["onnx"](), reference, atol=1e-4)
        times = interleaved_times(variants, repeats)
        medians = {k: statistics.median(v) for k, v in times.items()}
        if floors_run:
            floor_per_row = min(medians[k] for k in FLOORS) / n
        floor = floor_per_row * n
        mark = "" if floors_run else "*"
        rate = n / medians["keras"]
        print(
            f"{n} | "
            + " | ".join(
                summary(times[k]) if k in times else "-"
                for k in ("keras", "onnx", "old", *FLOORS, *batched)
            )
            + "".join(
                f" | {medians[k] / floor:.2f}{mark}" for k in ("keras", "onnx", "old", *batched)
            )
            + f" | {rate:,.0f}, {n / medians['onnx']:,.0f}"
        )


def _tf_wrapper_subclass(plugin, loaded, build, rows):
    """A ``tf_wrapper`` subclass as coffea's documentation suggests (coffea requires one per model):
    ``build(events)`` makes a tuple of arrays, ``numpy_call`` turns them into the network's input
    (``rows(arrays, input_ndim)``) and standardises it with the card's constants."""
    import keras
    from coffea.ml_tools.tf_wrapper import tf_wrapper

    from hepml_coffea import runtime
    from hepml_coffea.artifacts import WEIGHTS_FILE

    input_ndim = 1 + len(loaded.input_shape)

    class PeerWrapper(tf_wrapper):
        def _create_model(self):
            return keras.saving.load_model(
                self.tf_model, custom_objects=runtime.custom_objects(), compile=False
            )

        def prepare_awkward(self, events):
            return build(events), {}

        def validate_numpy_input(self, *arrays):
            super().validate_numpy_input(rows(arrays, input_ndim))

        def numpy_call(self, *arrays):
            return super().numpy_call(loaded.standardise(rows(arrays, input_ndim)))

    return PeerWrapper(str(plugin.artifact / WEIGHTS_FILE))


def _flat_scores(array) -> np.ndarray:
    import awkward as ak

    from hepml_coffea.columns import is_dask

    flat = ak.flatten(array, axis=1)
    return ak.to_numpy(flat.compute() if is_dask(flat) else flat)


def attach_compared(names: list[str], events_count: int, repeats: int, modes: list[str]) -> None:
    """``attach`` with each backend against two tf_wrapper subclasses: one whose
    ``prepare_awkward`` calls the same hepml-coffea feature builder, so only the machinery
    differs (eager and virtual mode: the numpy builders do not take dask-awkward arrays), and
    one with the inputs built in awkward operations as a coffea user writes them
    (``coffea_idiom.py``, every mode)."""
    import awkward as ak
    from coffea_idiom import BUILDERS, model_rows, network_input

    from hepml_coffea import attach, get_registry, open_nanoaod, runtime
    from hepml_coffea.samples import cached_sample

    path = cached_sample("qcd", 10_000, seed=202)
    for mode in modes:
        # virtual events are opened by every call, so each reads its columns as a processor does
        def opened(mode=mode):
            return open_nanoaod(path, mode, entry_stop=events_count, quiet=True)

        kept = None if mode == "virtual" else opened()

        def events(kept=kept, opened=opened):
            return kept if kept is not None else opened()

        counts = ak.num(events().FatJet, axis=1)
        n_jets = int(ak.sum(counts.compute() if mode == "dask" else counts))
        print(f"\n## attach, {mode}: {events_count} generated QCD events, {n_jets} FatJets")
        print(
            "network | ours keras [ms] | ours onnx [ms] | tf_wrapper, same builder [ms] |"
            " tf_wrapper, coffea idiom [ms] | same/best ours | idiom/best ours | jets/s: best ours"
        )
        for name in names:
            plugin = get_registry().get(name)
            loaded = runtime.get_model(plugin, backend="keras")

            def ours(backend: str, plugin=plugin):
                runtime.configure(backend=backend)
                return _flat_scores(attach(events(), [plugin]).FatJet[f"{plugin.name}_top"])

            def coffea_way(peer):
                jets_events = events()
                scores = peer(jets_events)[:, 0]
                counts = ak.num(jets_events.FatJet, axis=1)
                with warnings.catch_warnings():  # dask-awkward's reminder that counts must match
                    warnings.filterwarnings("ignore", "Please ensure", UserWarning)
                    per_event = ak.unflatten(scores, counts)
                decorated = ak.with_field(jets_events, per_event, ("FatJet", "peer_top"))
                return _flat_scores(decorated.FatJet.peer_top)

            variants = {"keras": lambda: ours("keras"), "onnx": lambda: ours("onnx")}
            if mode != "dask":
                same = _tf_wrapper_subclass(
                    plugin,
                    loaded,
                    lambda ev, plugin=plugin: (ak.Array(plugin.features(ev)),),
                    model_rows,
                )
                variants["same"] = lambda same=same: coffea_way(same)
            if name in BUILDERS:
                idiom = _tf_wrapper_subclass(
                    plugin,
                    loaded,
                    lambda ev, build=BUILDERS[name]: build(ev.FatJet),
                    lambda arrays, ndim, name=name: network_input(name, arrays, ndim),
                )
                variants["idiom"] = lambda idiom=idiom: coffea_way(idiom)
            reference = variants["keras"]()
            for key in variants.keys() - {"keras"}:
                # pfn_ddt's postprocess subtracts its threshold: tf_wrapper gives the network's
                if key == "onnx" or plugin.postprocess is None:
                    np.testing.assert_allclose(variants[key](), reference, atol=1e-5)
            times = interleaved_times(variants, repeats)
            medians = {k: statistics.median(v) for k, v in times.items()}
            best = min(medians["keras"], medians["onnx"])
            cells = [
                summary(times[k]) if k in times else "-" for k in ("keras", "onnx", "same", "idiom")
            ]
            ratios = [
                f"{medians[k] / best:.2f}" if k in medians else "-" for k in ("same", "idiom")
            ]
            print(f"{name} | " + " | ".join(cells + ratios) + f" | {n_jets / best:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 10, 1000, 1025, 2049, 10000, 100000]
    )
    parser.add_argument("--networks", default=NETWORKS)
    parser.add_argument(
        "--model-networks", default=None, help="networks timed alone (default: --networks)"
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--max-call-seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=None, help="HEPML_COFFEA_THREADS")
    parser.add_argument(
        "--floor-max-rows",
        action="append",
        default=[],
        metavar="NETWORK=ROWS",
        help="run the one-call floors of NETWORK only up to ROWS rows (they need all activations"
        " at once); above, ratios marked * compare with the best floor's time per row at the"
        " largest size it ran",
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="*",
        default=[],
        help="also time the Keras backend with these batch sizes (the default is the card's or"
        " the runtime's)",
    )
    parser.add_argument("--skip-attach", action="store_true")
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--modes", nargs="+", default=["eager", "virtual", "dask"])
    args = parser.parse_args()
    from hepml_coffea import runtime

    if args.threads:
        runtime.configure(threads=args.threads)
    names = args.networks.split(",")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load"
        f" average {os.getloadavg()[0]:.1f}; commit {commit}; {time.strftime('%Y-%m-%d %H:%M')}"
        f" UTC; repeats {args.repeats}; threads {runtime.config.settings.threads or 'default'};"
        f" batch size {runtime.config.settings.batch_size}; times: median [min-max] in ms"
    )
    floor_max_rows = {
        name: int(rows) for name, rows in (item.split("=") for item in args.floor_max_rows)
    }
    model_names = args.model_networks.split(",") if args.model_networks else names
    for name in model_names if not args.skip_model else ():
        model_alone(
            name,
            args.sizes,
            args.repeats,
            args.max_call_seconds,
            floor_max_rows.get(name),
            tuple(args.batch_sizes),
        )
    if not args.skip_attach:
        attach_compared(names, args.events, args.repeats, args.modes)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
