"""Running a processor over a fileset with any coffea executor, as ``hepml-coffea run`` does.

``iterative`` and ``futures`` go through coffea's ``processor.Runner`` (here), ``dask`` through
``apply_to_fileset`` on a ``distributed`` scheduler (:mod:`hepml_coffea.executors.dask_run`);
how coffea reports failures is handled in :mod:`hepml_coffea.executors.coffea_adapter`.

Every local file is checked in the client before an executor starts (:mod:`hepml_coffea.inputs`),
and a basket that cannot be read inside an executor becomes an :class:`InputFileError` naming the
file and the entries; chunks of local files are never retried, since they fail the same way again.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from coffea import processor

from hepml_coffea.errors import ConfigurationError
from hepml_coffea.executors.coffea_adapter import NamingReadErrors, tracebacks_held, user_error
from hepml_coffea.executors.dask_run import (
    chunk_count,
    dask_graph,
    local_cluster,
    preprocessed,
    run_dask,
    submissions,
)
from hepml_coffea.executors.settings import (
    CHUNKS_PER_SUBMISSION,
    DEFAULT_CHUNKSIZE,
    EXECUTORS,
    REMOTE_RETRIES,
    SCHEMAS,
)
from hepml_coffea.filesets import fileset_paths, runner_fileset
from hepml_coffea.inputs import check_fileset, is_remote

__all__ = [
    "CHUNKS_PER_SUBMISSION",
    "DEFAULT_CHUNKSIZE",
    "EXECUTORS",
    "REMOTE_RETRIES",
    "SCHEMAS",
    "chunk_count",
    "dask_graph",
    "local_cluster",
    "preprocessed",
    "run_processor",
    "submissions",
]


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
    chunks_per_submission: int = CHUNKS_PER_SUBMISSION,
) -> dict[str, Any]:
    """Run ``processor_instance`` over ``fileset`` and return the accumulated output.

    ``iterative`` and ``futures`` use ``processor.Runner``; ``dask`` uses ``apply_to_fileset``
    on a ``distributed`` scheduler (the one at ``scheduler`` if given, else
    :func:`local_cluster`, started for this run), ``chunks_per_submission`` chunks per
    ``Client.compute`` (0: all at once). The progress
    bar counts chunks and moves once per submission; its clock runs in between.
    """
    if executor not in EXECUTORS:
        raise ConfigurationError(
            f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}"
        )
    if schema not in SCHEMAS:
        raise ConfigurationError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    for name, value in (("workers", workers), ("chunksize", chunksize)):
        if value < 1:
            raise ConfigurationError(f"{name}={value}: give a positive number")
    if chunks_per_submission < 0:
        raise ConfigurationError(
            f"chunks_per_submission={chunks_per_submission}: give a number of chunks, or 0 to"
            " submit all at once"
        )
    check_fileset(fileset)
    if executor == "dask":
        return run_dask(
            processor_instance,
            fileset,
            workers=workers,
            chunksize=chunksize,
            scheduler=scheduler,
            schema=SCHEMAS[schema],
            progress=progress,
            chunks_per_submission=chunks_per_submission,
        )
    if scheduler is not None:
        raise ConfigurationError("--scheduler only applies to the dask executor")
    remote = any(is_remote(path) for path in fileset_paths(fileset))
    retries = REMOTE_RETRIES if remote else 0
    engine = (
        processor.IterativeExecutor(status=progress, retries=retries)
        if executor == "iterative"
        else processor.FuturesExecutor(workers=workers, status=progress, retries=retries)
    )
    runner = processor.Runner(executor=engine, schema=SCHEMAS[schema], chunksize=chunksize)
    with tracebacks_held() as held:
        try:
            return runner(
                runner_fileset(fileset), processor_instance=NamingReadErrors(processor_instance)
            )
        except Exception as exc:  # coffea wraps every worker error in a plain Exception
            ours = user_error(exc, fileset)
            if ours is None:  # a bug: the worker's traceback too
                sys.stderr.write(held.getvalue())
                raise
            raise ours from None
