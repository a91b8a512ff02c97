"""Orchestration: validate the request, run jobs (optionally in parallel), write atomically.

Reproducibility: job ``j`` of a request with seed ``s`` draws every random number (Pythia seed,
pileup-pool seed, detector/pileup numpy generator) from ``numpy.random.SeedSequence([s, j])``.
The same (seed, jobs, events, settings) therefore gives identical event content regardless of
scheduling; a different ``jobs`` splits the event range differently and gives other events.

Safety: the final file only appears (``os.replace``) once complete. Jobs write to part files in
a hidden temporary folder next to the output, which is removed on success or failure.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .background import event_pileup_inputs
from .detector import DETECTORS, simulate_detector
from .fatjets import cluster_fatjets
from .generation_errors import SampleConfigError
from .nanoaod_writer import NanoAODWriter, build_chunk, iterate_chunks
from .pileup import PileupPool, overlay, pool_size
from .processes import PROCESSES, pythia_settings
from .pythia_events import PythiaGenerator

DEFAULT_SEED = 12345
DEFAULT_CHUNK_SIZE = 500
#: hard limit on Poisson mean: beyond it the per-event candidate lists stop being practical
MAX_PILEUP = 300.0


@dataclass(frozen=True)
class SampleConfig:
    """A validated sample request."""

    process: str
    n_events: int
    output: Path
    pileup: float = 0.0
    seed: int = DEFAULT_SEED
    jobs: int = 1
    pt_min: float = 500.0
    pt_max: float = 700.0
    detector: str = "simple"
    chunk_size: int = DEFAULT_CHUNK_SIZE

    def validate(self) -> SampleConfig:
        """Return a normalised copy or raise :class:`SampleConfigError` saying what to fix."""
        if self.process not in PROCESSES:
            raise SampleConfigError(
                f"unknown process {self.process!r}; choose one of: {', '.join(PROCESSES)}"
            )
        if self.detector not in DETECTORS:
            raise SampleConfigError(
                f"unknown detector {self.detector!r}; choose one of: {', '.join(DETECTORS)}"
            )
        _require_int("events", self.n_events, minimum=1)
        _require_int("jobs", self.jobs, minimum=1)
        _require_int("chunk size", self.chunk_size, minimum=1)
        _require_int("seed", self.seed, minimum=0)
        for name, value in (
            ("pt_min", self.pt_min),
            ("pt_max", self.pt_max),
            ("pileup", self.pileup),
        ):
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise SampleConfigError(f"{name} must be a finite number, got {value!r}")
        if self.pt_min < 0 or self.pt_max <= 0:
            raise SampleConfigError(
                f"jet pT window must be positive, got pt_min={self.pt_min}, pt_max={self.pt_max}"
            )
        if self.pt_min >= self.pt_max:
            raise SampleConfigError(
                f"pt_min ({self.pt_min}) must be smaller than pt_max ({self.pt_max}); "
                "swap them or widen the window"
            )
        if not 0.0 <= self.pileup <= MAX_PILEUP:
            raise SampleConfigError(
                f"pileup (mean interactions per crossing) must be in [0, {MAX_PILEUP:g}], got {self.pileup}"
            )
        output = Path(os.path.expanduser(os.fspath(self.output))).absolute()
        if output.suffix != ".root":
            raise SampleConfigError(f"output must be a .root file, got {str(output)!r}")
        if output.is_dir():
            raise SampleConfigError(f"output {str(output)!r} is a directory; give a file name")
        parent = output.parent
        if not parent.is_dir():
            raise SampleConfigError(
                f"output directory {str(parent)!r} does not exist; create it first"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise SampleConfigError(f"output directory {str(parent)!r} is not writable")
        return replace(
            self,
            output=output,
            n_events=int(self.n_events),
            jobs=min(int(self.jobs), int(self.n_events)),
            pt_min=float(self.pt_min),
            pt_max=float(self.pt_max),
            pileup=float(self.pileup),
        )


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SampleConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise SampleConfigError(f"{name} must be >= {minimum}, got {value}")


def job_seeds(seed: int, job: int) -> tuple[int, int, np.random.SeedSequence]:
    """(Pythia seed, pileup-pool Pythia seed, numpy seed sequence) for one job."""
    ss = np.random.SeedSequence([seed, job])
    pythia_seed, pool_seed = (int(x) % 900_000_000 + 1 for x in ss.generate_state(2))
    return pythia_seed, pool_seed, ss.spawn(1)[0]


def _split(n_events: int, jobs: int) -> list[tuple[int, int]]:
    """(first event, number of events) per job."""
    base, extra = divmod(n_events, jobs)
    out, first = [], 0
    for j in range(jobs):
        n = base + (1 if j < extra else 0)
        out.append((first, n))
        first += n
    return out


def generate_job(cfg: SampleConfig, job: int, first: int, n: int, path: str, progress) -> int:
    """Generate job ``job``'s ``n`` events (numbered from ``first``) into ``path``, in this process;
    report progress through ``progress(n_done)``. One of the ``cfg.jobs`` parts of a sample."""
    pythia_seed, pool_seed, ss = job_seeds(cfg.seed, job)
    rng = np.random.default_rng(ss)
    gen = PythiaGenerator(pythia_settings(cfg.process, cfg.pt_min, cfg.pt_max), pythia_seed)
    pool = PileupPool(pool_seed, pool_size(cfg.pileup)) if cfg.pileup > 0 else None
    area_seed = int(ss.generate_state(1)[0])  # ghost jitter; does not touch ``rng``
    done = 0
    with NanoAODWriter(path) as writer:
        while done < n:
            m = min(cfg.chunk_size, n - done)
            batch = gen.generate(m)
            particles = batch.particles
            if pool is not None:
                particles = overlay(particles, pool.draw(m, cfg.pileup, rng))
            cands = simulate_detector(particles, rng, cfg.detector)
            jets = cluster_fatjets(
                cands, batch.genpart, cfg.pt_min, cfg.pt_max, area_seed=area_seed + done
            )
            inputs = event_pileup_inputs(cands, jets.counts, jets.eta, jets.phi, jets.constituents)
            writer.write(
                build_chunk(first + done, batch.weight, cands, jets, batch.genpart, inputs)
            )
            done += m
            progress(m)
    return done


# ---- worker-process plumbing (module level so it pickles)
_QUEUE = None


def _init_worker(q) -> None:
    global _QUEUE
    _QUEUE = q


def _worker(cfg: SampleConfig, job: int, first: int, n: int, path: str) -> int:
    return generate_job(cfg, job, first, n, path, _QUEUE.put)


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, disable=not enabled, unit="ev", desc=desc, smoothing=0.1, dynamic_ncols=True
    )


def _mp_context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def generate_sample(
    process: str,
    n_events: int,
    output: str | os.PathLike,
    *,
    pileup: float = 0.0,
    seed: int = DEFAULT_SEED,
    jobs: int = 1,
    pt_min: float = 500.0,
    pt_max: float = 700.0,
    detector: str = "simple",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
) -> Path:
    """Generate a PFNano-like NanoAOD file and return its path.

    :param process: ``ttbar``, ``qcd``, ``wprime`` or ``minbias``
    :param n_events: number of generated (and written) events; events without a fat jet in the
        window are kept with ``nFatJet == 0`` so that the file keeps the generated statistics
    :param output: ``.root`` file; written atomically (temporary name, then rename)
    :param pileup: mean number of overlaid minbias interactions (Poisson)
    :param seed: master seed; with ``jobs`` it fixes the event content
    :param jobs: worker processes
    :param pt_min, pt_max: fat-jet pT window in GeV (also sets the Pythia pT-hat range)
    :param detector: ``simple`` (tracks + calorimeter cells) or ``none`` (generator level)
    :param chunk_size: events per generation/write chunk (memory scales with it)
    :param progress: show a tqdm progress bar with events/s
    :raises SampleConfigError: for an invalid request, before any event is generated
    """
    cfg = SampleConfig(
        process=process,
        n_events=n_events,
        output=Path(output),
        pileup=pileup,
        seed=seed,
        jobs=jobs,
        pt_min=pt_min,
        pt_max=pt_max,
        detector=detector,
        chunk_size=chunk_size,
    ).validate()
    return generate_from_config(cfg, progress)


def generate_from_config(cfg: SampleConfig, progress: bool = True) -> Path:
    """Generate the sample a validated :class:`SampleConfig` describes (see :func:`generate_sample`)."""
    out = cfg.output
    workdir = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=".tmp", dir=out.parent))
    try:
        final_tmp = workdir / out.name
        splits = _split(cfg.n_events, cfg.jobs)
        desc = f"{cfg.process}" + (f" PU{cfg.pileup:g}" if cfg.pileup else "")
        with _progress_bar(cfg.n_events, progress, desc) as bar:
            if cfg.jobs == 1:
                generate_job(cfg, 0, 0, cfg.n_events, str(final_tmp), bar.update)
            else:
                parts = [str(workdir / f"part{j:04d}.root") for j in range(cfg.jobs)]
                _run_parallel(cfg, splits, parts, bar)
                with NanoAODWriter(final_tmp) as writer:
                    for part in parts:
                        for chunk in iterate_chunks(part, step_size=max(cfg.chunk_size, 1000)):
                            writer.write(chunk)
                        os.unlink(part)
        os.replace(final_tmp, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def _run_parallel(cfg: SampleConfig, splits, parts, bar) -> None:
    ctx = _mp_context()
    q = ctx.Queue()
    children_before = set(mp.active_children())
    with ProcessPoolExecutor(
        max_workers=cfg.jobs, mp_context=ctx, initializer=_init_worker, initargs=(q,)
    ) as pool:
        futures = [
            pool.submit(_worker, cfg, j, first, n, part)
            for j, ((first, n), part) in enumerate(zip(splits, parts, strict=False))
        ]
        try:
            while True:
                try:
                    bar.update(q.get(timeout=0.2))
                except queue.Empty:
                    pass
                if all(f.done() for f in futures):
                    break
            for f in futures:
                f.result()  # re-raise the first worker error
            while True:  # drain
                try:
                    bar.update(q.get_nowait())
                except queue.Empty:
                    break
        except BaseException:
            for f in futures:
                f.cancel()
            for worker in set(mp.active_children()) - children_before:
                worker.terminate()
            raise
