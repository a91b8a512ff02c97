"""Events per second per core of ``hepml-coffea generate`` (full chain: Pythia, pileup overlay,
detector, clustering, substructure, truth matching, writing), with and without pileup.

    python benchmarks/bench_generate.py [--events 300] [--repeats 3] [--pileup 0 40]

Each measurement runs one job (one core) and reports the steady-state rate (events after the
first chunk divided by the time they took) and the one-off start-up cost (Pythia init, pileup
pool generation, first chunk). Numbers are medians over ``--repeats`` runs with different seeds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from hepml_coffea.samples import generate as gen_mod


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def measure(process: str, n: int, pileup: float, seed: int, chunk: int) -> tuple[float, float]:
    stamps: list[tuple[float, int]] = []
    done = 0

    def progress(k: int) -> None:
        nonlocal done
        done += k
        stamps.append((time.perf_counter(), done))

    cfg = gen_mod.SampleConfig(
        process=process,
        n_events=n,
        output=Path("x.root"),
        pileup=pileup,
        seed=seed,
        chunk_size=chunk,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        gen_mod.generate_job(cfg, 0, 0, n, str(Path(tmp) / "bench.root"), progress)
    (t1, n1), (t2, n2) = stamps[0], stamps[-1]
    return (n2 - n1) / (t2 - t1), t1 - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--chunk-size", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pileup", type=float, nargs="+", default=[0.0, 40.0])
    ap.add_argument("--processes", nargs="+", default=["ttbar", "qcd"])
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(
        f"events per run: {args.events}, chunk size {args.chunk_size}, repeats {args.repeats} (median)"
    )
    print(
        f"{'process':8s} {'pileup':>6s} {'events/s/core':>14s} {'ms/event':>9s} {'start-up s':>11s}"
    )
    for process in args.processes:
        for mu in args.pileup:
            rates, setups = [], []
            for r in range(args.repeats):
                rate, setup = measure(process, args.events, mu, 1000 + r, args.chunk_size)
                rates.append(rate)
                setups.append(setup)
            rate = statistics.median(rates)
            print(
                f"{process:8s} {mu:6g} {rate:14.1f} {1000 / rate:9.1f} {statistics.median(setups):11.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
