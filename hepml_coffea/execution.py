"""Running a processor over a fileset with any coffea executor, as ``hepml-coffea run`` does.

Filesets use coffea's format, ``{dataset: {"files": {path: treename}, "metadata": {...}}}``; a
plain ``{dataset: [path, ...]}`` is accepted too (tree ``Events``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coffea import processor
from coffea.nanoevents import NanoAODSchema, PFNanoAODSchema

EXECUTORS = ("iterative", "futures", "dask")
SCHEMAS = {"nanoaod": NanoAODSchema, "pfnano": PFNanoAODSchema}
DEFAULT_CHUNKSIZE = 100_000


def load_fileset(path: Path) -> dict[str, dict[str, Any]]:
    """Read a fileset JSON file and normalise it to coffea's dataset_tools format."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"fileset {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"fileset {path} is not valid JSON: {exc}") from exc
    return normalise_fileset(raw, source=str(path))


def normalise_fileset(raw: Mapping[str, Any], source: str = "fileset") -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{source} must map dataset names to files, e.g. "
                         '{"ttbar": {"files": {"ttbar.root": "Events"}}}')
    fileset = {}
    for dataset, spec in raw.items():
        files = spec.get("files") if isinstance(spec, Mapping) else spec
        if isinstance(files, (list, tuple)):
            files = {str(f): "Events" for f in files}
        if not isinstance(files, Mapping) or not files:
            raise ValueError(f"{source}: dataset {dataset!r} lists no files")
        missing = [f for f in files if "://" not in f and not Path(f).is_file()]
        if missing:
            raise FileNotFoundError(f"{source}: dataset {dataset!r} refers to missing file(s) {missing}")
        entry = {"files": dict(files)}
        if isinstance(spec, Mapping) and spec.get("metadata"):
            entry["metadata"] = dict(spec["metadata"])
        fileset[dataset] = entry
    return fileset


def runner_fileset(fileset: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """coffea's Runner wants one tree name per dataset and a list of files."""
    converted = {}
    for dataset, spec in fileset.items():
        trees = set(spec["files"].values())
        if len(trees) != 1:
            raise ValueError(f"dataset {dataset!r} mixes tree names {sorted(trees)}; Runner needs one")
        converted[dataset] = {"files": list(spec["files"]), "treename": trees.pop(),
                              "metadata": spec.get("metadata", {})}
    return converted


def run_processor(
    processor_instance: processor.ProcessorABC,
    fileset: Mapping[str, Mapping[str, Any]],
    *,
    executor: str = "iterative",
    workers: int = 2,
    chunksize: int = DEFAULT_CHUNKSIZE,
    scheduler: str | None = None,
    schema: str = "pfnano",
    progress: bool = True,
) -> dict[str, Any]:
    """Run ``processor_instance`` over ``fileset`` and return the accumulated output.

    ``iterative`` and ``futures`` use ``processor.Runner``; ``dask`` uses ``apply_to_fileset``
    and ``dask.compute`` on a ``distributed`` scheduler: the one at ``scheduler`` if given,
    else a ``LocalCluster`` of ``workers`` single-threaded processes started for this run.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    if executor == "dask":
        return _run_dask(processor_instance, fileset, workers=workers, chunksize=chunksize,
                         scheduler=scheduler, schema=SCHEMAS[schema], progress=progress)
    if scheduler is not None:
        raise ValueError("--scheduler only applies to the dask executor")
    engine = (processor.IterativeExecutor(status=progress) if executor == "iterative"
              else processor.FuturesExecutor(workers=workers, status=progress))
    runner = processor.Runner(executor=engine, schema=SCHEMAS[schema], chunksize=chunksize)
    return runner(runner_fileset(fileset), processor_instance=processor_instance)


def _run_dask(processor_instance, fileset, *, workers, chunksize, scheduler, schema, progress):
    import dask
    from coffea.dataset_tools import apply_to_fileset, preprocess
    from distributed import Client, LocalCluster
    from distributed import progress as show_progress

    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                   processes=True, dashboard_address=None)
    with Client(scheduler or cluster) as client:
        try:
            preprocessed, _ = preprocess(fileset, step_size=chunksize)
            graph = apply_to_fileset(processor_instance, preprocessed, schemaclass=schema)
            (futures,) = dask.persist(graph)
            if progress:
                show_progress(futures)
                print()
            (computed,) = dask.compute(futures)
        finally:
            if cluster is not None:
                client.close()
                cluster.close()
    # apply_to_fileset gives one output per dataset; fold them as Runner would.
    return processor.accumulate(computed.values())
