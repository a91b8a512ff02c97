"""Dask workers on a batch system (HTCondor, SLURM) that run hepml-coffea plugins.

A batch job starts on a node that knows nothing of the shell that submitted it: not the virtual
environment, not ``PYTHONPATH`` (where an uninstalled plugin may live), not the hepml-coffea
settings. :func:`batch_cluster` writes all of them into the job script through dask-jobqueue,
so that a worker sees the plugins the client sees; :func:`check_workers` then asks every
connected worker for them and names any worker that lacks one.

    cluster = batch_cluster("slurm", plugins=["pfn"], cores=1, memory="4GB", queue="short")
    cluster.scale(jobs=20)
    output = run_processor(processor, fileset, executor="dask", scheduler=cluster.scheduler_address)

See docs/cluster.md.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from hepml_coffea.errors import ConfigurationError

#: batch system -> dask-jobqueue cluster class
BATCH_SYSTEMS = {"slurm": "SLURMCluster", "htcondor": "HTCondorCluster"}

#: variables passed on to the jobs when set in the submitting shell: where plugins and models are
#: found, and how hepml-coffea and Keras behave
FORWARDED_ENVIRONMENT = (
    "PYTHONPATH",
    "KERAS_BACKEND",
    "HEPML_COFFEA_BATCH_SIZE",
    "HEPML_COFFEA_CACHE",
    "HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD",
    "HEPML_COFFEA_BLOCK_PLUGINS",
    "HEPML_COFFEA_BACKEND",
    "HEPML_COFFEA_TRACE_PLUGINS",
    "TF_CPP_MIN_LOG_LEVEL",
)


def worker_environment(cores: int, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a worker job gets: :data:`FORWARDED_ENVIRONMENT` where set, and one
    inference thread per core of the job (``HEPML_COFFEA_THREADS``) unless set explicitly, since
    TensorFlow would otherwise size its pools by the whole node, shared with other jobs."""
    environ = os.environ if environ is None else environ
    env = {name: environ[name] for name in FORWARDED_ENVIRONMENT if environ.get(name)}
    env["HEPML_COFFEA_THREADS"] = environ.get("HEPML_COFFEA_THREADS") or str(cores)
    return env


def job_prologue(env: Mapping[str, str], prefix: str = sys.prefix) -> list[str]:
    """Shell lines run before the worker starts: activate the submitting virtual environment
    (when there is one) and export ``env``."""
    lines = []
    activate = os.path.join(prefix, "bin", "activate")
    if prefix != sys.base_prefix and os.path.isfile(activate):
        lines.append(f"source {shlex.quote(activate)}")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    return lines


def batch_cluster(
    system: str,
    *,
    plugins: Iterable[str] = (),
    cores: int = 1,
    memory: str = "4GB",
    walltime: str = "02:00:00",
    **options: Any,
):
    """A dask-jobqueue cluster for ``system`` (``"slurm"`` or ``"htcondor"``) whose jobs run
    this process's Python, in its virtual environment, with :func:`worker_environment`.

    ``plugins`` are looked up here first, so a name no package provides fails before any job
    is submitted. Other ``options`` go to the dask-jobqueue class (``queue``, ``account``,
    ``disk`` for HTCondor, ``job_extra_directives``, ...). One worker process per job, with
    one thread per core: coffea's chunks are independent, and TensorFlow releases the GIL.
    Scale it with ``cluster.scale(jobs=n)`` and pass it (or its ``scheduler_address``) to
    :func:`hepml_coffea.executors.run_processor`.
    """
    if system not in BATCH_SYSTEMS:
        raise ConfigurationError(
            f"unknown batch system {system!r}; choose one of {', '.join(BATCH_SYSTEMS)}"
        )
    from hepml_coffea.columns import resolve_plugins

    resolve_plugins(list(plugins))
    import dask_jobqueue

    cluster_class = getattr(dask_jobqueue, BATCH_SYSTEMS[system])
    if system == "htcondor":  # no walltime option there: the pool enforces +MaxRuntime
        options.setdefault("disk", memory)
        directives = dict(options.pop("job_extra_directives", {}))
        directives.setdefault("+MaxRuntime", str(_seconds(walltime)))
        options["job_extra_directives"] = directives
    else:
        options["walltime"] = walltime
    prologue = job_prologue(worker_environment(cores))
    return cluster_class(
        cores=cores,
        processes=1,
        memory=memory,
        python=sys.executable,
        job_script_prologue=[*prologue, *options.pop("job_script_prologue", [])],
        **options,
    )


def _seconds(walltime: str) -> int:
    """``"HH:MM:SS"`` (or ``"MM:SS"``) in seconds."""
    try:
        parts = [int(part) for part in walltime.split(":")]
    except ValueError:
        parts = []
    if not 1 < len(parts) <= 3:
        raise ConfigurationError(f"walltime {walltime!r} is not HH:MM:SS, e.g. '02:00:00'")
    seconds = 0
    for part in parts:
        seconds = 60 * seconds + part
    return seconds


def _plugins_missing(names: list[str]) -> list[str]:
    """Run on a worker: the names among ``names`` its registry does not provide."""
    from hepml_coffea.registry import get_registry

    available = get_registry().plugins
    return [name for name in names if name not in available]


def check_workers(client, plugins: Iterable[str]) -> int:
    """Ask every worker connected to ``client`` for ``plugins``; return how many answered.

    :raises ConfigurationError: naming the first worker that lacks a plugin, and the fix.
    """
    names = list(plugins)
    answers = client.run(_plugins_missing, names)
    workers = client.scheduler_info(n_workers=-1)["workers"]
    for worker, missing in sorted(answers.items()):
        if missing:
            raise ConfigurationError(
                f"dask worker {workers.get(worker, {}).get('name', '')} at {worker} does not provide plugin(s) {', '.join(missing)}: install "
                "them in the environment the jobs activate, or put them on the PYTHONPATH of "
                "the shell that creates the cluster"
            )
    return len(answers)
