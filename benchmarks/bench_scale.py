"""Throughput and worker memory of ``run_processor`` on a ``distributed.LocalCluster``, at scale.

One generated QCD sample (cached) is listed under many file names (symbolic links), so a
million events cost one generation; every chunk is read, decompressed and scored for real.
For each configuration the tagging processor runs through coffea's ``apply_to_fileset`` on a
fresh cluster; reported are events/s (wall time of the whole run, graph building included) and
each worker's peak resident memory (``VmHWM``), its resident memory after the run, and
that after ``malloc_trim`` (freed heap handed back), the arenas of Python's allocator against
the blocks live objects use in them, and the most tasks it held at once, so
memory can be compared between a run of 10 and of 100 chunks per worker, and throughput between
1 and 2 workers; ``--chunks-per-submission`` compares how many chunks each ``Client.compute``
of the run holds (``--rounds`` repeats every variant, interleaved, after one untimed run).
For each number of files it also prints what the graph's task specifications take: pickled,
as the scheduler sends them, and unpickled each on its own, as a worker holds them
(``--no-specs`` skips it)::

    python benchmarks/bench_scale.py                      # 10 and 100 files, 1 and 2 workers
    python benchmarks/bench_scale.py --files 10 100 --workers 1 2 --plugins cutbased,pfn
    python benchmarks/bench_scale.py --files 10 100 --workers 1 --plugins none   # coffea alone
    python benchmarks/bench_scale.py --chunks-per-submission default 0 --rounds 2 --no-specs
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from coffea import processor
from distributed import Client
from hepml_processors import TaggingProcessor

from hepml_coffea.executors import (
    CHUNKS_PER_SUBMISSION,
    dask_graph,
    local_cluster,
    preprocessed,
    run_processor,
)
from hepml_coffea.filesets import normalise_fileset
from hepml_coffea.samples.cache import cache_dir, cached_sample


def linked_files(source: Path, n_files: int) -> list[str]:
    """``n_files`` names for ``source`` in the cache (links made once, reused)."""
    folder = cache_dir().parent / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        link = folder / f"{source.stem}_copy{i:04d}.root"
        if not link.exists():
            link.symlink_to(source)
        paths.append(str(link))
    return paths


def _peak_rss_mib() -> float:
    """The process's own peak resident memory (Linux's ``VmHWM``). Not ``getrusage``: Linux
    carries ``ru_maxrss`` across the fork and exec that start a worker, so it reported the
    client's memory at the time the cluster started whenever that was larger."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kiB
    raise RuntimeError("no VmHWM in /proc/self/status: the peak is measured on Linux only")


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _trimmed_rss_mib() -> float:
    """Resident memory after a garbage collection and glibc's ``malloc_trim``, which hands freed
    heap back to the system: what is still held then is live, not allocator retention."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_mib()


def _watch_held_tasks(dask_worker) -> None:
    """Record the most tasks ``dask_worker`` knows at once (sampled every 20 ms, in a thread):
    a worker keeps a finished task's state, its specification included, while a task that
    depends on it is still known."""
    import threading

    dask_worker.most_tasks_held = 0

    def watch():
        while True:
            dask_worker.most_tasks_held = max(
                dask_worker.most_tasks_held, len(dask_worker.state.tasks)
            )
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True, name="bench-scale-task-watch").start()


def _most_tasks_held(dask_worker) -> int:
    return dask_worker.most_tasks_held


def task_spec_memory(files: list[str], plugins: list[str], chunksize: int) -> dict:
    """Tasks of the optimised graph of a run over ``files``, their specifications' pickled
    bytes, and the Python memory (``tracemalloc``) of all of them unpickled one by one."""
    import gc
    import pickle
    import tracemalloc

    import cloudpickle
    import dask
    from dask.base import unpack_collections

    whole = preprocessed(normalise_fileset({"qcd": files}), chunksize=chunksize)
    graph, reports = dask_graph(_processor(plugins), whole)
    collections, _ = unpack_collections(graph, reports, traverse=True)
    tasks = {}
    for collection in dask.optimize(*collections):
        tasks.update(dict(collection.__dask_graph__()))
    pickled = [cloudpickle.dumps(task) for task in tasks.values()]
    gc.collect()
    tracemalloc.start()
    held = [pickle.loads(blob) for blob in pickled]
    unpickled, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    return {
        "tasks": len(tasks),
        "pickled_mib": sum(map(len, pickled)) / 2**20,
        "unpickled_mib": unpickled / 2**20,
    }


def _python_heap_mib() -> tuple[float, float]:
    """Memory of Python's small-object allocator after a garbage collection: its arenas, and
    the blocks in them that live objects use (``sys._debugmallocstats``, which writes to the
    C-level stderr). Arenas far above the live blocks are fragmentation: an arena is returned
    only when every object in it is gone."""
    import gc
    import re
    import sys
    import tempfile

    gc.collect()
    with tempfile.TemporaryFile(mode="w+") as report:
        saved = os.dup(2)
        os.dup2(report.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        report.seek(0)
        text = report.read()
    arenas = re.search(r"(\d+) arenas \* \d+ bytes/arena\s+=\s+([\d,]+)", text)
    live = re.search(r"# bytes in allocated blocks\s+=\s+([\d,]+)", text)
    return int(arenas.group(2).replace(",", "")) / 2**20, int(
        live.group(1).replace(",", "")
    ) / 2**20


class CoffeaOnly(processor.ProcessorABC):
    """The baseline: coffea reading the same chunks and filling one histogram, no hepml-coffea
    plugin, so that what coffea, dask and uproot cost per chunk can be told from ours."""

    def process(self, events):
        import awkward as ak
        import hist.dask

        h = hist.dask.Hist.new.Reg(60, 0, 300, name="msoftdrop").Double()
        h.fill(msoftdrop=ak.flatten(events.FatJet.msoftdrop))
        return {"msoftdrop": h, "cutflow": {"qcd": {"events": ak.num(events, axis=0)}}}

    def postprocess(self, accumulator):
        return accumulator


def _processor(plugins: list[str]) -> processor.ProcessorABC:
    """The tagging processor with ``plugins``, or coffea alone without any."""
    return TaggingProcessor(plugins) if plugins else CoffeaOnly()


def run_once(
    files: list[str],
    plugins: list[str],
    workers: int,
    chunksize: int,
    chunks_per_submission: int = CHUNKS_PER_SUBMISSION,
) -> dict:
    fileset = normalise_fileset({"qcd": files})
    with local_cluster(workers) as cluster:  # the cluster run_processor starts
        with Client(cluster) as client:
            client.run(_watch_held_tasks)
        start = time.perf_counter()
        output = run_processor(
            _processor(plugins),
            fileset,
            executor="dask",
            scheduler=cluster.scheduler_address,
            chunksize=chunksize,
            progress=False,
            chunks_per_submission=chunks_per_submission,
        )
        seconds = time.perf_counter() - start
        with Client(cluster) as client:
            peaks = sorted(client.run(_peak_rss_mib).values())
            after = sorted(client.run(_rss_mib).values())
            trimmed = sorted(client.run(_trimmed_rss_mib).values())
            held = sorted(client.run(_most_tasks_held).values())
            heaps = sorted(client.run(_python_heap_mib).values())
    events = output["cutflow"]["qcd"]["events"]
    return {
        "events": events,
        "seconds": seconds,
        "peak_rss_mib": peaks,
        "rss_after_mib": after,
        "rss_trimmed_mib": trimmed,
        "most_tasks_held": held,
        "python_heap_mib": heaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--events-per-file", type=int, default=10_000)
    parser.add_argument("--chunksize", type=int, default=10_000, help="events per chunk")
    parser.add_argument(
        "--plugins",
        default="cutbased,substructure_dnn",
        help="comma-separated plugins; 'none' for coffea alone (one histogram, no plugin)",
    )
    parser.add_argument("--seed", type=int, default=202, help="seed of the QCD sample")
    parser.add_argument(
        "--no-specs", action="store_true", help="skip measuring the task specifications' memory"
    )
    parser.add_argument(
        "--chunks-per-submission",
        nargs="+",
        default=["default"],
        help="chunks per Client.compute of run_processor: 'default' (its choice), a number, or 0"
        " (all at once); several are run in turn, in every round",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times every configuration runs, interleaved"
    )
    args = parser.parse_args()
    plugins = [] if args.plugins == "none" else args.plugins.split(",")
    source = cached_sample("qcd", args.events_per_file, seed=args.seed, jobs=2, progress=True)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"sample {source.name}; plugins {args.plugins}; {args.chunksize} events per chunk"
    )
    print(
        f"{'files':>6} {'workers':>7} {'per submission':>14} {'chunks':>7} {'events':>9}"
        f" {'seconds':>8} {'events/s':>9} {'peak RSS per worker [MiB]':>26}"
        f" {'RSS after the run [MiB]':>24} {'after malloc_trim [MiB]':>24}"
        f" {'most tasks held':>16} {'Python heap: arenas / live [MiB]':>33}"
    )
    summaries = []
    for n_files in args.files:
        files = linked_files(source, n_files)
        if not args.no_specs:
            specs = task_spec_memory(files, plugins, args.chunksize)
            print(
                f"{n_files:>6} files: {specs['tasks']} tasks, specifications"
                f" {specs['pickled_mib']:.1f} MiB pickled, {specs['unpickled_mib']:.1f} MiB"
                " unpickled one by one",
                flush=True,
            )
        for workers in args.workers:
            runs: dict[str, list[dict]] = {variant: [] for variant in args.chunks_per_submission}
            # untimed: the first run of a configuration was 30-50 % slower than the next ones,
            # whichever variant it was (the files' pages, the client's first graph)
            run_once(files, plugins, workers, args.chunksize)
            for _ in range(args.rounds):
                for variant in args.chunks_per_submission:
                    per_submission = CHUNKS_PER_SUBMISSION if variant == "default" else int(variant)
                    result = run_once(files, plugins, workers, args.chunksize, per_submission)
                    runs[variant].append(result)
                    print_run(n_files, workers, variant, args, result)
            summaries += [summary(n_files, workers, v, r) for v, r in runs.items()]
    if args.rounds > 1:
        print("\nmedian [min-max] over the rounds")
        print("\n".join(summaries))


def print_run(n_files: int, workers: int, variant: str, args, result: dict) -> None:
    chunks = n_files * -(-args.events_per_file // args.chunksize)
    peaks = ", ".join(f"{peak:.0f}" for peak in result["peak_rss_mib"])
    after = ", ".join(f"{rss:.0f}" for rss in result["rss_after_mib"])
    trimmed = ", ".join(f"{rss:.0f}" for rss in result["rss_trimmed_mib"])
    held = ", ".join(str(n) for n in result["most_tasks_held"])
    heap = ", ".join(f"{arenas:.0f} / {live:.0f}" for arenas, live in result["python_heap_mib"])
    print(
        f"{n_files:>6} {workers:>7} {variant:>14} {chunks:>7} {result['events']:>9} "
        f"{result['seconds']:>8.1f} {result['events'] / result['seconds']:>9.0f} "
        f"{peaks:>26} {after:>24} {trimmed:>24} {held:>16} {heap:>33}",
        flush=True,
    )


def summary(n_files: int, workers: int, variant: str, runs: list[dict]) -> str:
    """One line per configuration: events/s and the largest worker's peak, median [min-max]."""
    rates = [run["events"] / run["seconds"] for run in runs]
    peaks = [max(run["peak_rss_mib"]) for run in runs]
    return (
        f"{n_files} files, {workers} workers, {variant} per submission:"
        f" {statistics.median(rates):,.0f} [{min(rates):,.0f}-{max(rates):,.0f}] events/s,"
        f" peak {statistics.median(peaks):.0f} [{min(peaks):.0f}-{max(peaks):.0f}] MiB"
    )


if __name__ == "__main__":
    main()
