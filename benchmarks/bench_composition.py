"""A composed plugin (``pfn@puppi``) against its parts attached separately, at MU 60.

``pfn@puppi`` runs ``puppi`` and then ``pfn`` on the PUPPI-weighted candidates, in one attach call
and one task per chunk. The baseline is what it replaces: ``puppi`` attached, then ``pfn``
attached in a second call (on the raw candidates, the work of running the network once more).
The issue's target: the composed plugin costs at most 1.3x the baseline. Variants take turns
(:func:`hepml_coffea.tuning.interleaved_times`), after a warm-up that loads and traces the models;
reported are the median and the range over the repeats, and the ratio of the medians.

    python benchmarks/bench_composition.py [--events 2000] [--pileup 60] [--repeats 7] \\
        [--mode eager|virtual] [--pairs pfn@puppi,particlenet_lite@pumml]

The events (ttbar, seed 7) are generated into ``$HEPML_COFFEA_CACHE`` when missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def summary(times: list[float]) -> str:
    return (
        f"{1e3 * statistics.median(times):8.0f} ms [{1e3 * min(times):.0f}-{1e3 * max(times):.0f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--pileup", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--mode", choices=("virtual", "eager"), default="eager")
    parser.add_argument("--pairs", default="pfn@puppi,particlenet_lite@pumml")
    args = parser.parse_args()

    from hepml_coffea import attach, open_nanoaod
    from hepml_coffea.composition import split
    from hepml_coffea.samples import cached_sample
    from hepml_coffea.tuning import interleaved_times

    path = cached_sample("ttbar", args.events, seed=7, pileup=args.pileup, jobs=2, progress=True)
    in_memory = open_nanoaod(path, args.mode)
    events = (
        (lambda: in_memory) if args.mode == "eager" else (lambda: open_nanoaod(path, "virtual"))
    )
    n_jets = int(sum(len(jets) for jets in in_memory.FatJet.pt))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"{args.events} ttbar events at MU {args.pileup:g} ({n_jets} FatJets, {args.mode}); "
        f"repeats {args.repeats}"
    )
    for pair in args.pairs.split(","):
        base, method = split(pair)
        column = f"{base}_{method}_top"

        def composed(pair=pair, column=column):
            attach(events(), [pair]).FatJet[column]

        def separately(base=base, method=method):
            with_method = attach(events(), [method])
            attach(with_method, [base]).FatJet[f"{base}_top"]

        times = interleaved_times({"composed": composed, "separately": separately}, args.repeats)
        ratio = statistics.median(times["composed"]) / statistics.median(times["separately"])
        print(f"{pair}:")
        print(f"  {pair} in one call:            {summary(times['composed'])}")
        print(f"  {method}, then {base} (baseline): {summary(times['separately'])}")
        print(f"  ratio of medians: {ratio:.2f} (target: at most 1.3)")


if __name__ == "__main__":
    main()
