"""Inference backends side by side, per shipped network: the model alone against the floors, and
eager ``attach`` (Keras and ONNX Runtime backends) against a ``coffea.ml_tools.tf_wrapper`` subclass.

Model alone, on the same random rows, for each number of rows per call: ``LoadedModel.predict``
with the Keras backend (one ``tf.function``, dynamic batch axis, mini-batches) and the ONNX
backend; the old runtime (mini-batches padded to a power of two, ``predict_on_batch``); and the
floors, one call on all rows: ``predict_on_batch``, ``tf.function`` and plain ``model(x)``
(what tf_wrapper does). Reported: the median over interleaved repeats (variants take turns in
every repeat, so load on a shared machine hits them alike), the spread (min-max) and each
variant's time over the best floor's. A size is skipped for a network when one call would take
longer than ``--max-call-seconds`` at the rate measured at the previous size.

Attach, eager: the events are read once; each repeat attaches one network to them, with each
backend, and with a tf_wrapper subclass written as coffea's documentation suggests
(``prepare_awkward`` returns the same standardised feature rows, so only the machinery differs).

    python benchmarks/bench_backends.py [--repeats 5] [--sizes 1 10 1000 1025 2049 10000 100000]
        [--networks pfn,particlenet_lite] [--events 5000] [--max-call-seconds 4] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
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


def model_alone(name: str, sizes: list[int], repeats: int, max_call_seconds: float) -> None:
    import tensorflow as tf

    from hepml_coffea import get_registry, runtime

    plugin = get_registry().get(name)
    keras_model = runtime.get_model(plugin, backend="keras")
    onnx_model = runtime.get_model(plugin, backend="onnx")
    model = keras_model.model
    spec = tf.TensorSpec((None, *keras_model.input_shape), tf.float32)
    floor_function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    rng = np.random.default_rng(0)
    print(f"\n## model alone: {name} ({keras_model.parameter_count} parameters)")
    print(
        "rows | ours keras [ms] | ours onnx [ms] | old padded [ms] | floor predict_on_batch |"
        " floor tf.function | floor model(x) | keras/floor | onnx/floor | old/floor | rows/s keras, onnx"
    )
    rate = None
    for n in sizes:
        if rate is not None and n / rate > max_call_seconds:
            print(f"{n} | skipped: one call would take about {n / rate:.0f} s")
            continue
        raw = rng.normal(size=(n, *keras_model.input_shape)).astype(np.float32)
        x = keras_model.standardise(raw)
        variants = {
            "keras": lambda raw=raw: keras_model.predict(raw),
            "onnx": lambda raw=raw: onnx_model.predict(raw),
            "old": lambda x=x: padded_predict(model, x),
            "pob": lambda x=x: model.predict_on_batch(x),
            "tff": lambda x=x: np.asarray(floor_function(x)),
            "call": lambda x=x: np.asarray(model(x, training=False)),
        }
        # same computation on every variant (to 1e-4 on these random rows, where EdgeConv's
        # nearest neighbours can break near-ties differently; tests/test_onnx.py holds the two
        # backends to 1e-5 on real jets)
        np.testing.assert_allclose(variants["keras"](), variants["pob"](), atol=1e-5)
        np.testing.assert_allclose(variants["onnx"](), variants["pob"](), atol=1e-4)
        times = interleaved_times(variants, repeats)
        medians = {k: statistics.median(v) for k, v in times.items()}
        floor = min(medians["pob"], medians["tff"], medians["call"])
        rate = n / medians["keras"]
        print(
            f"{n} | "
            + " | ".join(summary(times[k]) for k in variants)
            + f" | {medians['keras'] / floor:.2f} | {medians['onnx'] / floor:.2f}"
            f" | {medians['old'] / floor:.2f} | {rate:,.0f}, {n / medians['onnx']:,.0f}"
        )


def attach_eager(names: list[str], events_count: int, repeats: int) -> None:
    import awkward as ak
    import keras
    from coffea.ml_tools.tf_wrapper import tf_wrapper

    from hepml_coffea import attach, get_registry, open_nanoaod, runtime
    from hepml_coffea.artifacts import WEIGHTS_FILE
    from hepml_coffea.samples import cached_sample

    path = cached_sample("qcd", 10_000, seed=202)
    events = open_nanoaod(path, "eager", entry_stop=events_count)
    counts = ak.num(events.FatJet, axis=1)
    n_jets = int(ak.sum(counts))
    print(f"\n## attach, eager: {events_count} generated QCD events, {n_jets} FatJets")
    print(
        "network | ours keras [ms] | ours onnx [ms] | tf_wrapper [ms] | tf_wrapper/keras |"
        " tf_wrapper/onnx | jets/s keras, onnx, tf_wrapper"
    )
    for name in names:
        plugin = get_registry().get(name)
        loaded = runtime.get_model(plugin, backend="keras")

        class PeerWrapper(tf_wrapper):  # coffea requires one subclass per model
            plugin_of_wrapper, loaded_of_wrapper = plugin, loaded

            def _create_model(self):
                return keras.saving.load_model(
                    self.tf_model, custom_objects=runtime.custom_objects(), compile=False
                )

            def prepare_awkward(self, jets_events):
                features = self.plugin_of_wrapper.features(jets_events)
                return [ak.Array(self.loaded_of_wrapper.standardise(features))], {}

        peer = PeerWrapper(str(plugin.artifact / WEIGHTS_FILE))

        def with_backend(backend: str, plugin=plugin):
            runtime.configure(backend=backend)
            return ak.to_numpy(ak.flatten(attach(events, [plugin]).FatJet[f"{plugin.name}_top"]))

        def coffea_way(peer=peer):
            scores = np.asarray(peer(events)).reshape(-1)
            decorated = ak.with_field(events, ak.unflatten(scores, counts), ("FatJet", "peer_top"))
            return ak.to_numpy(ak.flatten(decorated.FatJet.peer_top))

        variants = {
            "keras": lambda: with_backend("keras"),
            "onnx": lambda: with_backend("onnx"),
            "peer": coffea_way,
        }
        reference = variants["keras"]()
        if plugin.postprocess is None:  # pfn_ddt's output is the network's: compare them all
            np.testing.assert_allclose(variants["peer"](), reference, atol=1e-5)
        np.testing.assert_allclose(variants["onnx"](), reference, atol=1e-5)
        times = interleaved_times(variants, repeats)
        medians = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"{name} | "
            + " | ".join(summary(times[k]) for k in variants)
            + f" | {medians['peer'] / medians['keras']:.2f} | {medians['peer'] / medians['onnx']:.2f}"
            f" | {n_jets / medians['keras']:,.0f}, {n_jets / medians['onnx']:,.0f},"
            f" {n_jets / medians['peer']:,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 10, 1000, 1025, 2049, 10000, 100000]
    )
    parser.add_argument("--networks", default=NETWORKS)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--max-call-seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=None, help="HEPML_COFFEA_THREADS")
    parser.add_argument("--skip-attach", action="store_true")
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
        f" UTC; repeats {args.repeats}; threads {runtime.settings.threads or 'default'};"
        f" batch size {runtime.settings.batch_size}; times: median [min-max] in ms"
    )
    for name in names:
        model_alone(name, args.sizes, args.repeats, args.max_call_seconds)
    if not args.skip_attach:
        attach_eager(names, args.events, args.repeats)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
