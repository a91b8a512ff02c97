"""Batch-system workers (dask-jobqueue) carry the environment and the plugins of the client.

No SLURM or HTCondor here, so the tests act as the batch system: they run the job script that
dask-jobqueue would submit, as a job would, in a shell that has nothing of this process's
environment, and let its worker join the cluster's scheduler.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from distributed import Client
from hepml_processors import TaggingProcessor
from packages import pip_install

from hepml_coffea import ConfigurationError, UnknownPluginError
from hepml_coffea.cluster import batch_cluster, check_workers, worker_environment
from hepml_coffea.data import cms_file
from hepml_coffea.executors import run_processor
from hepml_coffea.filesets import normalise_fileset

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "thirdparty-tagger"
LOCAL_SCHEDULER = {"host": "127.0.0.1", "dashboard_address": None}


def _command(job_script: str) -> list[str]:
    """What the batch system would execute for ``job_script`` (a SLURM script, or an HTCondor
    submit description whose ``Arguments`` hold a ``sh -c`` command line)."""
    for line in job_script.splitlines():
        if line.startswith("Arguments = "):
            return ["/bin/sh", *shlex.split(line.split("=", 1)[1].strip().strip('"'))]
    return ["/bin/bash", "-c", job_script]


def _start_job(cluster, name: str, without: str = "") -> subprocess.Popen:
    """Run one job of ``cluster`` here; ``name`` stands in for the name that scaling gives it;
    the job script loses its ``export <without>=...`` line, if given."""
    script = cluster.job_script().replace("dummy-name", name)
    if without:
        lines = script.splitlines()
        assert any(line.startswith(f"export {without}=") for line in lines)
        script = "\n".join(line for line in lines if not line.startswith(f"export {without}="))
    bare = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.Popen(_command(script), env=bare, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def plugin_folder(tmp_path_factory) -> Path:
    """The example third-party plugin, installed only into a folder (to go on PYTHONPATH)."""
    return pip_install(tmp_path_factory.mktemp("plugins"), EXAMPLE)


@pytest.mark.parametrize("system", ["slurm", "htcondor"])
def test_the_job_script_runs_this_python_with_the_forwarded_settings(system, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/analysis/plugins")
    monkeypatch.setenv("HEPML_COFFEA_BATCH_SIZE", "512")
    monkeypatch.delenv("HEPML_COFFEA_THREADS", raising=False)
    with batch_cluster(system, cores=2, scheduler_options=LOCAL_SCHEDULER) as cluster:
        script = cluster.job_script()
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script
    for line in (
        "export PYTHONPATH=/analysis/plugins",
        "export HEPML_COFFEA_BATCH_SIZE=512",
        "export HEPML_COFFEA_THREADS=2",
    ):
        assert line in script
    assert ("#SBATCH -t 02:00:00" if system == "slurm" else "+MaxRuntime = 7200") in script
    if sys.prefix != sys.base_prefix:  # a virtual environment: the job activates it
        assert f"source {Path(sys.prefix) / 'bin' / 'activate'}" in script


def test_worker_threads_follow_the_job_unless_set():
    assert worker_environment(4, {})["HEPML_COFFEA_THREADS"] == "4"
    assert worker_environment(4, {"HEPML_COFFEA_THREADS": "1"})["HEPML_COFFEA_THREADS"] == "1"
    assert "PYTHONPATH" not in worker_environment(1, {"PYTHONPATH": ""})


def test_the_chosen_backend_and_log_level_reach_the_jobs():
    """A job must run the backend the user chose for the run (HEPML_COFFEA_BACKEND=onnx), and
    TensorFlow at the level the command set."""
    client = {"HEPML_COFFEA_BACKEND": "onnx", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": "/home/me"}
    env = worker_environment(1, client)
    assert env == {
        "HEPML_COFFEA_BACKEND": "onnx",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HEPML_COFFEA_THREADS": "1",
    }


def test_bad_requests_fail_before_any_job_is_submitted():
    with pytest.raises(ConfigurationError, match="unknown batch system 'pbs'; choose one of"):
        batch_cluster("pbs")
    with pytest.raises(UnknownPluginError, match="pfm"):
        batch_cluster("slurm", plugins=["pfm"])


def test_jobs_run_the_processor_and_see_plugins_only_on_the_forwarded_path(
    plugin_folder, monkeypatch
):
    fileset = normalise_fileset({"pfnano": [str(cms_file("pfnano"))]})
    reference = run_processor(
        TaggingProcessor(["cutbased"]), fileset, executor="iterative", progress=False
    )
    monkeypatch.setenv("PYTHONPATH", str(plugin_folder))
    jobs = []
    with batch_cluster("slurm", scheduler_options=LOCAL_SCHEDULER) as cluster:
        try:
            jobs.append(_start_job(cluster, "job-with-pythonpath"))
            with Client(cluster) as client:
                client.wait_for_workers(1, timeout=120)
                assert check_workers(client, ["cutbased", "tau21_twoprong"]) == 1
                output = run_processor(
                    TaggingProcessor(["cutbased"]),
                    fileset,
                    executor="dask",
                    scheduler=cluster.scheduler_address,
                    progress=False,
                )
                assert output["cutflow"] == reference["cutflow"]
                # as if the cluster had been made in a shell without the plugin folder
                jobs.append(_start_job(cluster, "job-without-pythonpath", without="PYTHONPATH"))
                client.wait_for_workers(2, timeout=120)
                with pytest.raises(
                    ConfigurationError,
                    match="job-without-pythonpath at tcp://.* does not provide plugin.s. tau21_twoprong: install",
                ):
                    check_workers(client, ["cutbased", "tau21_twoprong"])
        finally:
            for job in jobs:
                job.terminate()
                job.wait(timeout=30)
