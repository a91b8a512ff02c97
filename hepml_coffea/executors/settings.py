"""The executors' names, schemas and tuning constants."""

from __future__ import annotations

from coffea.nanoevents import NanoAODSchema, PFNanoAODSchema

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
