"""Running a processor over a fileset with any coffea executor, as ``hepml-coffea run`` does.

Filesets use coffea's format, ``{dataset: {"files": {path: treename}, "metadata": {...}}}``; a
plain ``{dataset: [path, ...]}`` is accepted too (tree ``Events``).

Every local file is checked in the client before an executor starts (:mod:`hepml_coffea.inputs`),
and a basket that cannot be read inside an executor becomes an :class:`InputFileError` naming the
file and the entries; chunks of local files are never retried, since they fail the same way again.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import sys
import traceback
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coffea import processor
from coffea.nanoevents import NanoAODSchema, PFNanoAODSchema

from hepml_coffea.errors import (
    ConfigurationError,
    FilesetError,
    HepmlCoffeaError,
    InputFileError,
    our_error,
)
from hepml_coffea.inputs import (
    REMAKE,
    branches_not_filled_in,
    check_fileset,
    is_remote,
    one_line,
    remote_read_error,
)

if TYPE_CHECKING:
    from distributed import LocalCluster

EXECUTORS = ("iterative", "futures", "dask")


class QuietNanoAODSchema(NanoAODSchema):
    """NanoAODSchema without a warning for each cross-reference a file lacks (41 per chunk on a
    generated sample, which has no electrons or muons to index). A plugin's branches are
    checked by name instead, with a message that names the plugin."""

    warn_missing_crossrefs = False


class QuietPFNanoAODSchema(PFNanoAODSchema):
    """PFNanoAODSchema, quiet as :class:`QuietNanoAODSchema`."""

    warn_missing_crossrefs = False


SCHEMAS = {"nanoaod": QuietNanoAODSchema, "pfnano": QuietPFNanoAODSchema}
DEFAULT_CHUNKSIZE = 100_000
#: chunks per submission of a dask run (:func:`submissions`): each submission costs the client
#: a graph and its optimisation, each chunk a worker holds about 0.5 MiB (benchmarks/bench_scale.py,
#: docs/benchmarks.md)
CHUNKS_PER_SUBMISSION = 10
#: a dask run keeps this many chunks per worker submitted, so that no worker waits for work
CHUNKS_IN_FLIGHT_PER_WORKER = 2
#: a dask run's progress bar is redrawn this often while a submission computes (its clock runs)
BAR_REDRAW_SECONDS = 1.0
#: the start of coffea preprocess's error for a dataset whose files' forms it cannot merge
UNMERGEABLE_FORMS = "IndexedOptionArrays can only contain NumpyArrays of bools"
#: seconds a dask run waits for the scheduler at --scheduler to answer
SCHEDULER_TIMEOUT = "20s"
#: coffea's retries of a failed chunk, kept for remote files, whose reads can fail transiently
REMOTE_RETRIES = 3


def load_fileset(path: Path) -> dict[str, dict[str, Any]]:
    """Read a fileset JSON file and normalise it to coffea's dataset_tools format."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FilesetError(
            f"fileset {path} does not exist; give the path of a fileset JSON file"
        ) from None
    except IsADirectoryError:
        raise FilesetError(
            f"fileset {path} is a folder; give the path of a fileset JSON file"
        ) from None
    except json.JSONDecodeError as exc:
        raise FilesetError(f"fileset {path} is not valid JSON: {exc}") from exc
    return normalise_fileset(raw, source=str(path))


def normalise_fileset(raw: Mapping[str, Any], source: str = "fileset") -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise FilesetError(
            f"{source} must map dataset names to files, e.g. "
            '{"ttbar": {"files": {"ttbar.root": "Events"}}}'
        )
    fileset = {}
    for dataset, spec in raw.items():
        if isinstance(spec, Mapping) and "files" not in spec:
            raise FilesetError(
                f'{source}: dataset {dataset!r} has no "files" key (it has {sorted(spec)});'
                ' give {"files": {path: tree}} or a list of paths'
            )
        files = spec.get("files") if isinstance(spec, Mapping) else spec
        if isinstance(files, (list, tuple)):
            twice = sorted(str(f) for f, n in Counter(files).items() if n > 1)
            if twice:
                raise FilesetError(f"{source}: dataset {dataset!r} lists {twice} more than once")
            files = {str(f): "Events" for f in files}
        if isinstance(files, str):
            raise FilesetError(
                f"{source}: dataset {dataset!r} gives one string, not a list of files;"
                f' write ["{files}"]'
            )
        if not isinstance(files, Mapping) or not files:
            raise FilesetError(f"{source}: dataset {dataset!r} lists no files")
        missing = [f for f in files if not is_remote(f) and not Path(f).is_file()]
        if missing:
            relative = any(not Path(f).is_absolute() for f in missing)
            where = f" (relative paths are read from the current folder, {Path.cwd()})"
            raise FilesetError(
                f"{source}: dataset {dataset!r} refers to missing file(s) {missing}"
                + (where if relative else "")
            )
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
            raise FilesetError(
                f"dataset {dataset!r} mixes tree names {sorted(trees)}; Runner needs one"
            )
        for name in (dataset, *spec["files"]):
            if not name.isascii():
                raise FilesetError(
                    f"{name!r} is not ASCII, and coffea's Runner (iterative and futures executors)"
                    " hashes names as ASCII; rename it"
                )
        converted[dataset] = {
            "files": list(spec["files"]),
            "treename": trees.pop(),
            "metadata": spec.get("metadata", {}),
        }
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
        return _run_dask(
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
    remote = any(is_remote(path) for path in _paths(fileset))
    retries = REMOTE_RETRIES if remote else 0
    engine = (
        processor.IterativeExecutor(status=progress, retries=retries)
        if executor == "iterative"
        else processor.FuturesExecutor(workers=workers, status=progress, retries=retries)
    )
    runner = processor.Runner(executor=engine, schema=SCHEMAS[schema], chunksize=chunksize)
    with _tracebacks_held() as held:
        try:
            return runner(
                runner_fileset(fileset), processor_instance=_NamingReadErrors(processor_instance)
            )
        except Exception as exc:  # coffea wraps every worker error in a plain Exception
            ours = _user_error(exc, fileset)
            if ours is None:  # a bug: the worker's traceback too
                sys.stderr.write(held.getvalue())
                raise
            raise ours from None


class _HeldTracebacks(io.StringIO):
    """The ``traceback`` module, but ``print_exc`` writes into this buffer."""

    def print_exc(self, limit=None, chain=True) -> None:
        traceback.print_exc(limit=limit, file=self, chain=chain)

    def __getattr__(self, name: str):
        return getattr(traceback, name)


@contextmanager
def _tracebacks_held() -> Iterator[io.StringIO]:
    """coffea's futures executor prints the traceback of a failed chunk (``traceback.print_exc``)
    before it raises, also when the error is one of ours with its one line; held here instead,
    for the caller to print when the error is a bug."""
    from coffea.processor import executor as coffea_executor

    held = _HeldTracebacks()
    coffea_executor.traceback = held
    try:
        yield held
    finally:
        coffea_executor.traceback = traceback


def _user_error(
    exc: Exception, fileset: Mapping[str, Mapping[str, Any]]
) -> HepmlCoffeaError | None:
    """The one-line error behind a failed run: ours, or a remote file that could not be read;
    None for a bug."""
    return our_error(exc) or remote_read_error(exc, _paths(fileset))


def _paths(fileset: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [path for spec in fileset.values() for path in spec["files"]]


class _NamingReadErrors(processor.ProcessorABC):
    """``inner``, with an error raised inside uproot (a basket read lazily from a damaged file)
    turned into an :class:`InputFileError` naming the file and the entries of the chunk."""

    def __init__(self, inner: processor.ProcessorABC) -> None:
        self.inner = inner

    def process(self, events):
        try:
            return self.inner.process(events)
        except Exception as exc:
            if not _raised_in_uproot(exc):
                raise
            meta = events.metadata
            reason = one_line(type(exc).__name__, str(exc))
            raise _unreadable(
                meta["filename"], meta["entrystart"], meta["entrystop"], reason
            ) from exc

    def postprocess(self, accumulator):
        return self.inner.postprocess(accumulator)


def _raised_in_uproot(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_globals.get("__name__", "").startswith("uproot.")


def _unreadable(path: str, start: int, stop: int, reason: str) -> InputFileError:
    return InputFileError(path, f"could not be read at entries {start}-{stop} ({reason}); {REMAKE}")


def _silence_distributed_logs() -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _hide_failed_task_logs() -> None:
    """A worker logs every failed task with its traceback ("Compute Failed"), which the client
    raises too: on a local cluster, whose workers write to the run's terminal, the client's
    one-line error (or, for a bug, its traceback) is enough."""
    logging.getLogger("distributed.worker").addFilter(
        lambda record: not record.getMessage().startswith("Compute Failed")
    )


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


def _run_dask(
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
            client.run(_hide_failed_task_logs)
        try:
            whole = preprocessed(fileset, chunksize=chunksize)
            parts = submissions(whole, chunks_per_submission or max(1, chunk_count(whole)))
            return _compute_submissions(client, processor_instance, parts, schema, progress)
        except Exception as exc:
            ours = _user_error(exc, fileset)
            if ours is None:
                raise
            raise ours from None
        finally:
            if cluster is not None:
                # A worker whose heartbeat is in flight while the cluster shuts it down logs the
                # closed connection with a traceback (a race in distributed): quiet the workers
                # for the shutdown only, so a run ends with its result or its one-line error.
                client.run(_silence_distributed_logs, on_error="ignore")
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
            _wait_redrawing(futures, bar)
            computed, reports = repack(client.gather(futures))
            _raise_first_unreadable(reports)
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


def _wait_redrawing(futures, bar, every: float = BAR_REDRAW_SECONDS) -> None:
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


def _raise_first_unreadable(reports: Mapping[str, Any]) -> None:
    import awkward as ak

    for report in reports.values():
        for read in report[~ak.is_none(report.exception)]:
            path, _tree, start, stop = (ast.literal_eval(arg) for arg in read.args[:4])
            raise _unreadable(path, start, stop, one_line(read.exception, read.message))
