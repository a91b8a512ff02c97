"""What depends on how coffea and distributed report a failure, in one place to revisit when the
coffea pin moves: coffea's futures executor prints a failed chunk's traceback itself (held here),
its Runner wraps a worker's error in a plain ``Exception`` (our one-line error found again behind
it), uproot's errors inside a chunk become an :class:`InputFileError` naming the file and
entries, ``apply_to_fileset``'s read reports likewise, and distributed's worker logs are quieted
where the client already says it all."""

from __future__ import annotations

import ast
import io
import logging
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from coffea import processor

from hepml_coffea.errors import HepmlCoffeaError, InputFileError, our_error
from hepml_coffea.filesets import fileset_paths
from hepml_coffea.inputs import REMAKE, one_line, remote_read_error


class _HeldTracebacks(io.StringIO):
    """The ``traceback`` module, but ``print_exc`` writes into this buffer."""

    def print_exc(self, limit=None, chain=True) -> None:
        traceback.print_exc(limit=limit, file=self, chain=chain)

    def __getattr__(self, name: str):
        return getattr(traceback, name)


@contextmanager
def tracebacks_held() -> Iterator[io.StringIO]:
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


def user_error(exc: Exception, fileset: Mapping[str, Mapping[str, Any]]) -> HepmlCoffeaError | None:
    """The one-line error behind a failed run: ours, or a remote file that could not be read;
    None for a bug."""
    return our_error(exc) or remote_read_error(exc, fileset_paths(fileset))


class NamingReadErrors(processor.ProcessorABC):
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
            raise unreadable(
                meta["filename"], meta["entrystart"], meta["entrystop"], reason
            ) from exc

    def postprocess(self, accumulator):
        return self.inner.postprocess(accumulator)


def _raised_in_uproot(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_globals.get("__name__", "").startswith("uproot.")


def unreadable(path: str, start: int, stop: int, reason: str) -> InputFileError:
    return InputFileError(path, f"could not be read at entries {start}-{stop} ({reason}); {REMAKE}")


def silence_distributed_logs() -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def hide_failed_task_logs() -> None:
    """A worker logs every failed task with its traceback ("Compute Failed"), which the client
    raises too: on a local cluster, whose workers write to the run's terminal, the client's
    one-line error (or, for a bug, its traceback) is enough."""
    logging.getLogger("distributed.worker").addFilter(
        lambda record: not record.getMessage().startswith("Compute Failed")
    )


def raise_first_unreadable(reports: Mapping[str, Any]) -> None:
    import awkward as ak

    for report in reports.values():
        for read in report[~ak.is_none(report.exception)]:
            path, _tree, start, stop = (ast.literal_eval(arg) for arg in read.args[:4])
            raise unreadable(path, start, stop, one_line(read.exception, read.message))
