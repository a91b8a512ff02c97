"""The dask executor: ``apply_to_fileset`` on a ``distributed`` scheduler (one given, or a local
cluster started for the run), submitted a few chunks at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coffea import processor

from hepml_coffea.errors import ConfigurationError, FilesetError
from hepml_coffea.executors.coffea_adapter import (
    hide_failed_task_logs,
    raise_first_unreadable,
    silence_distributed_logs,
    user_error,
)
from hepml_coffea.executors.settings import (
    BAR_REDRAW_SECONDS,
    CHUNKS_IN_FLIGHT_PER_WORKER,
    SCHEDULER_TIMEOUT,
    SCHEMAS,
    UNMERGEABLE_FORMS,
)
from hepml_coffea.inputs import branches_not_filled_in, one_line

if TYPE_CHECKING:
    from distributed import LocalCluster


def local_cluster(workers: int) -> LocalCluster:
    """The ``distributed.LocalCluster`` a dask run starts without a scheduler: ``workers``
    single-threaded processes and no dashboard, so no statistical profiler either: it samples
    every worker's stack every 10 ms to draw the dashboard's profile, and keeps up to 1,000
    one-second profiles, for a page this cluster does not serve."""
    import dask
    from distributed import LocalCluster

    # the nannies hand the workers the configuration current when they are made
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def preprocessed(fileset: Mapping[str, Mapping[str, Any]], *, chunksize: int) -> dict:
    """``fileset`` with every file's entries cut into steps of ``chunksize`` and its form
    (coffea's ``preprocess``, which reads each file's metadata on the current dask scheduler)."""
    from coffea.dataset_tools import DataGroupSpec, preprocess

    # a DataGroupSpec, not the plain dict coffea would print an advertisement for
    try:
        result, _ = preprocess(DataGroupSpec.model_validate(fileset), step_size=chunksize)
    except ValueError as exc:
        if UNMERGEABLE_FORMS not in str(exc):
            raise
        raise _unmergeable(fileset) from exc
    return result.model_dump()


def _unmergeable(fileset: Mapping[str, Mapping[str, Any]]) -> FilesetError:
    advice = (
        "a dask run reads each dataset with one form, and coffea fills in only missing bool"
        " branches; put files with different branches in different datasets, or use the"
        " iterative or futures executor"
    )
    for dataset, spec in fileset.items():
        found = branches_not_filled_in(spec["files"])
        if found is not None:
            path, missing = found
            shown = ", ".join(missing[:3]) + (
                f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            )
            return FilesetError(
                f"dataset {dataset!r}: {path} lacks {len(missing)} branch(es) that other"
                f" files of the dataset have and that are not bools ({shown}); {advice}"
            )
    return FilesetError(f"the files of a dataset have different branches; {advice}")


def chunk_count(preprocessed_fileset: Mapping[str, Any]) -> int:
    """The chunks (steps) of a :func:`preprocessed` fileset."""
    return sum(
        len(spec["steps"] or ())
        for dataset in preprocessed_fileset.values()
        for spec in dataset["files"].values()
    )


def submissions(preprocessed_fileset: Mapping[str, Any], chunks: int) -> list[dict]:
    """A :func:`preprocessed` fileset cut, in order, into filesets of at most ``chunks`` steps
    each (a file's steps may be split between two); a file without steps goes with the next."""
    parts: list[dict] = [{}]
    filled = 0
    for name, dataset in preprocessed_fileset.items():
        for path, spec in dataset["files"].items():
            steps = list(spec["steps"] or ())
            while True:
                if filled == chunks:
                    parts.append({})
                    filled = 0
                taken, steps = steps[: chunks - filled], steps[chunks - filled :]
                part = parts[-1].setdefault(name, {**dataset, "files": {}})
                part["files"][path] = {**spec, "steps": taken}
                filled += len(taken)
                if not steps:
                    break
    return [part for part in parts if part]


def dask_graph(
    processor_instance: processor.ProcessorABC,
    preprocessed_fileset: Mapping[str, Any],
    *,
    schema: type = SCHEMAS["pfnano"],
) -> tuple[dict, dict]:
    """The task graphs of a dask run over a :func:`preprocessed` fileset, not computed: the
    processor's output and the read report per dataset (``apply_to_fileset``)."""
    from coffea.dataset_tools import DataGroupSpec, apply_to_fileset

    # a read that fails leaves an empty partition and a line in the report, naming its file
    return apply_to_fileset(
        processor_instance,
        DataGroupSpec.model_validate(preprocessed_fileset),
        schemaclass=schema,
        uproot_options={"allow_read_errors_with_report": (Exception,)},
    )


def run_dask(
    processor_instance,
    fileset,
    *,
    workers,
    chunksize,
    scheduler,
    schema,
    progress,
    chunks_per_submission,
):
    import dask

    cluster = None if scheduler else local_cluster(workers)
    try:
        client = _connected_client(scheduler or cluster)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    # The client is made the scheduler only inside this block (preprocess computes on it): as a
    # process-wide default it outlived the run (dask's config kept "dask.distributed"), and later
    # computes failed.
    with client, dask.config.set(scheduler=client):
        if cluster is not None:
            client.run(hide_failed_task_logs)
        try:
            whole = preprocessed(fileset, chunksize=chunksize)
            parts = submissions(whole, chunks_per_submission or max(1, chunk_count(whole)))
            return _compute_submissions(client, processor_instance, parts, schema, progress)
        except Exception as exc:
            ours = user_error(exc, fileset)
            if ours is None:
                raise
            raise ours from None
        finally:
            if cluster is not None:
                # A worker whose heartbeat is in flight while the cluster shuts it down logs the
                # closed connection with a traceback (a race in distributed): quiet the workers
                # for the shutdown only, so a run ends with its result or its one-line error.
                client.run(silence_distributed_logs, on_error="ignore")
                client.close()
                cluster.close()


def _connected_client(address_or_cluster):
    from distributed import Client
    from distributed.comm import parse_address, parse_host_port

    advice = "check --scheduler (tcp://HOST:PORT)"
    if isinstance(address_or_cluster, str):
        try:  # before a Client exists: a half-made one hangs the interpreter's exit for 40 s
            parse_host_port(parse_address(address_or_cluster)[1])
        except ValueError as exc:
            raise ConfigurationError(
                f"{address_or_cluster!r} is no scheduler address ({exc}); {advice}"
            ) from None
    try:
        return Client(address_or_cluster, set_as_default=False, timeout=SCHEDULER_TIMEOUT)
    except OSError as exc:
        raise ConfigurationError(
            f"no dask scheduler answered at {address_or_cluster} within {SCHEDULER_TIMEOUT}"
            f" ({one_line(type(exc).__name__, str(exc))}); {advice}"
        ) from None


def _compute_submissions(client, processor_instance, parts, schema, progress) -> dict[str, Any]:
    """The accumulated output of ``parts`` (:func:`submissions`), each one ``Client.compute``.

    Why not all chunks at once: a ``distributed`` worker keeps the state of every task it ran,
    its specification (for coffea's read tasks, the NanoAOD form) included, while any task that
    depends on it is still to run; in one graph that ends in a tree reduction, that is every
    task until the run ends, so a worker grew by about 0.5 MiB per chunk. A submission's tasks
    are forgotten once its result is gathered; new submissions are made while the older ones
    run, keeping :data:`CHUNKS_IN_FLIGHT_PER_WORKER` chunks per worker (or two submissions,
    whichever is more) on the cluster.
    """
    from collections import deque

    from dask.base import unpack_collections
    from tqdm.auto import tqdm

    sized = [(part, chunk_count(part)) for part in parts]
    in_flight: deque = deque()
    total = None
    with tqdm(
        total=sum(chunks for _, chunks in sized),
        unit="chunk",
        desc="chunks",
        disable=not progress,
    ) as bar:

        def add_oldest(total):
            futures, repack, chunks = in_flight.popleft()
            wait_redrawing(futures, bar)
            computed, reports = repack(client.gather(futures))
            raise_first_unreadable(reports)
            bar.update(chunks)
            return processor.accumulate([total, *computed.values()])

        for part, chunks in sized:
            wanted = max(
                2 * chunks, CHUNKS_IN_FLIGHT_PER_WORKER * len(client.scheduler_info()["workers"])
            )
            while in_flight and sum(c for *_, c in in_flight) + chunks > wanted:
                total = add_oldest(total)
            graph, reports = dask_graph(processor_instance, part, schema=schema)
            collections, repack = unpack_collections(graph, reports, traverse=True)
            # one compute per submission: persisting first and computing the persisted
            # collections sent every key twice, which the scheduler logs as a possible deadlock
            in_flight.append((client.compute(list(collections)), repack, chunks))
        while in_flight:
            total = add_oldest(total)
    return total


def wait_redrawing(futures, bar, every: float = BAR_REDRAW_SECONDS) -> None:
    """Wait until ``futures`` are done (or failed), redrawing ``bar`` every ``every`` seconds:
    the bar moves once per submission, and its clock would otherwise stand still meanwhile.
    (``distributed.wait`` would need the run's client to be the process's default.)"""
    for future in futures:
        while True:
            try:
                future.exception(timeout=every)  # waits; a failure is raised by the gather
                break
            except TimeoutError:
                bar.refresh()
