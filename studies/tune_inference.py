"""Measure every shipped network on both inference backends and write the faster one (and a
larger batch size where it pays) into its card: ``hepml_coffea.tuning``.

    python studies/tune_inference.py                       # all shipped networks, 5 repeats
    python studies/tune_inference.py --plugins pfn,topodnn --repeats 9

Prints one row per network; the cards keep the numbers, the machine and the load average.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from hepml_coffea import get_registry
from hepml_coffea.tuning import tune_artifact


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--plugins", help="comma-separated plugin names (default: every shipped tagger network)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per variant")
    parser.add_argument("--rows", type=int, help="rows per call (default: about 0.5 s of work)")
    args = parser.parse_args()
    names = args.plugins.split(",") if args.plugins else get_registry().shipped_networks("tagger")
    command = shlex.join(["python", "studies/tune_inference.py", *sys.argv[1:]])
    print("network | rows | keras [ms] | onnx [ms] | onnx/keras | batch sizes [ms] | chosen")
    for name in names:
        card = tune_artifact(
            get_registry().get(name), rows=args.rows, repeats=args.repeats, command=command
        )
        m = card.metrics["inference"]
        keras_ms, onnx_ms = (1e3 * m["backends"][b]["median_s"] for b in ("keras", "onnx"))
        batches = ", ".join(
            f"{b}: {1e3 * v['median_s']:.1f}" for b, v in m["batch_sizes"].items() if b != "backend"
        )
        print(
            f"{name} | {m['rows']} | {keras_ms:.1f} | {onnx_ms:.1f} | {onnx_ms / keras_ms:.2f} | "
            f"{m['batch_sizes']['backend']} {batches} | {m['chosen']['backend']}, "
            f"batch {m['chosen']['batch_size'] or 'default'}"
        )


if __name__ == "__main__":
    main()
