"""A cache of generated samples outside the repository (tests and training reuse them)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .generate import DEFAULT_CHUNK_SIZE, SampleConfig, generate_from_config
from .nanoaod_writer import FORMAT_VERSION

#: environment variable overriding the cache folder
CACHE_ENV = "HEPML_COFFEA_CACHE"


def cache_dir() -> Path:
    """``$HEPML_COFFEA_CACHE`` or ``~/.cache/hepml-coffea/samples``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hepml-coffea" / "samples"


def sample_name(cfg: SampleConfig) -> str:
    """File name encoding every parameter of ``cfg`` that changes the content (and the format
    version); the output path and the chunk size do not."""
    return (
        f"{cfg.process}_n{cfg.n_events}_seed{cfg.seed}_pu{cfg.pileup:g}"
        f"_pt{cfg.pt_min:g}-{cfg.pt_max:g}_{cfg.detector}_j{cfg.jobs}_v{FORMAT_VERSION}.root"
    )


def cached_sample(
    process: str,
    n_events: int,
    *,
    seed: int,
    pileup: float = 0.0,
    pt_min: float = 500.0,
    pt_max: float = 700.0,
    detector: str = "simple",
    jobs: int = 1,
    progress: bool = False,
    directory: str | os.PathLike | None = None,
) -> Path:
    """Path of a cached sample, generated first if missing (atomically, so concurrent callers
    at worst generate it twice, never read a partial file)."""
    folder = Path(directory) if directory is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    request = SampleConfig(
        process=process,
        n_events=n_events,
        output=folder / "unnamed.root",
        pileup=pileup,
        seed=seed,
        jobs=jobs,
        pt_min=pt_min,
        pt_max=pt_max,
        detector=detector,
        chunk_size=DEFAULT_CHUNK_SIZE,
    ).validate()
    path = folder / sample_name(request)
    cfg = dataclasses.replace(request, output=path)
    if path.exists():
        return path
    return generate_from_config(cfg, progress)
