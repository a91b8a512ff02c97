"""Attaching several constituent taggers at once versus one at a time, on one chunk of events.

One ``attach`` call evaluates its plugins in one shared-feature scope, so the particle cloud and
the constituent table are built once per chunk. The baseline attaches the same plugins in
separate calls, which rebuilds them for every plugin (what hepml-coffea did before the features
were shared). Each repeat opens the file afresh (``--mode virtual``, as coffea processors do, so
reading the branches is part of the work) or reuses events already in memory (``--mode eager``).
Models are loaded and traced in a warm-up; the medians over the repeats and their ratio come
from the same run. Also reported: the time spent building the features alone, per plugin.

    python benchmarks/bench_attach.py [--events 5000] [--repeats 5] [--mode virtual|eager] [--plugins pfn,pfn_md,efn]

The events are generated (ttbar, seed 7) into ``$HEPML_COFFEA_CACHE`` when missing.
"""

from __future__ import annotations

import argparse
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plugins", default="pfn,pfn_md,efn,particlenet_lite,topodnn,deeptop_cnn")
    parser.add_argument("--mode", choices=("virtual", "eager"), default="virtual")
    args = parser.parse_args()

    from hepml_coffea import attach, get_registry, open_nanoaod
    from hepml_coffea.samples import cached_sample

    path = cached_sample("ttbar", args.events, seed=7)

    def open_events():
        return open_nanoaod(path, args.mode)

    in_memory = open_events()
    events_for_call = (lambda: in_memory) if args.mode == "eager" else open_events
    registry = get_registry()
    plugins = [registry.get(name) for name in args.plugins.split(",")]
    n_jets = int(sum(len(jets) for jets in in_memory.FatJet.pt))

    def together():
        attach(events_for_call(), plugins).FatJet[plugins[-1].column_names[0]]

    def one_by_one():
        events = events_for_call()
        for plugin in plugins:
            events = attach(events, [plugin])
            events.FatJet[plugin.column_names[0]]

    one_by_one()  # warm-up: load and trace every model
    shared = median_seconds(together, args.repeats, warm_up=False)
    separate = median_seconds(one_by_one, args.repeats, warm_up=False)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"{args.events} ttbar events ({n_jets} FatJets, {args.mode}); repeats {args.repeats}"
    )
    print(f"plugins: {', '.join(p.name for p in plugins)}")
    for plugin in plugins:
        features = median_seconds(
            lambda plugin=plugin: plugin.features(events_for_call()), args.repeats, warm_up=False
        )
        print(f"  features alone, {plugin.name:>17}: {1e3 * features:8.0f} ms")
    print(f"one attach call (shared features): {1e3 * shared:8.0f} ms median")
    print(f"one call per plugin (baseline):    {1e3 * separate:8.0f} ms median")
    print(f"speed-up: {separate / shared:.2f}x")


if __name__ == "__main__":
    main()
