"""Inference throughput: hepml-coffea's runtime against coffea.ml_tools.tf_wrapper (our peer).

Both run the shipped ``substructure_dnn`` artifact on the same standardised feature rows, one
call per "partition", for several partition sizes. Reported: median seconds per partition over
repeats (after one warm-up call per size) and jets/s, plus the ratio tf_wrapper / ours.

    python benchmarks/bench_inference.py [--repeats 7] [--sizes 1000 10000 100000] [--batch-size 4096]
"""

from __future__ import annotations

import argparse
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--batch-size", type=int, default=None, help="our mini-batch (default: runtime's)"
    )
    args = parser.parse_args()

    from coffea.ml_tools.tf_wrapper import tf_wrapper

    from hepml_coffea import get_registry, runtime
    from hepml_coffea.artifacts import WEIGHTS_FILE

    plugin = get_registry().get("substructure_dnn")
    ours = runtime.get_model(plugin)

    class PeerWrapper(tf_wrapper):  # coffea requires one subclass per model
        def prepare_awkward(self, features):
            return [features], {}

    peer = PeerWrapper(str(plugin.artifact / WEIGHTS_FILE))
    rng = np.random.default_rng(0)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"model: substructure_dnn ({ours.model.count_params()} parameters); repeats {args.repeats}; "
        f"our batch size {args.batch_size or runtime.settings.batch_size}"
    )
    print(
        f"{'jets/partition':>15} {'ours [ms]':>10} {'ours jets/s':>12} {'tf_wrapper [ms]':>16} "
        f"{'tf_wrapper jets/s':>18} {'ratio':>6}"
    )
    for size in args.sizes:
        features = rng.normal(size=(size, 4)).astype(np.float32)
        standardised = ours.standardise(features)
        t_ours = median_seconds(
            lambda x=features: ours.predict(x, batch_size=args.batch_size), args.repeats
        )
        t_peer = median_seconds(lambda x=standardised: peer.numpy_call(x), args.repeats)
        print(
            f"{size:>15} {1e3 * t_ours:>10.2f} {size / t_ours:>12.0f} {1e3 * t_peer:>16.2f} "
            f"{size / t_peer:>18.0f} {t_peer / t_ours:>6.2f}"
        )


if __name__ == "__main__":
    main()
