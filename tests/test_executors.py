"""The tagging processor under every executor gives the same histograms and columns."""

import re
import time
import warnings

import pytest
from broken_inputs import REFUSED_UP_FRONT, broken_input
from coffea import processor
from coffea.nanoevents import PFNanoAODSchema
from distributed import Client, LocalCluster, WorkerPlugin
from hepml_processors import TaggingProcessor

from hepml_coffea import ConfigurationError, FilesetError, InputFileError, runtime
from hepml_coffea.data import cms_file
from hepml_coffea.executors import (
    chunk_count,
    local_cluster,
    run_processor,
    submissions,
)
from hepml_coffea.executors.dask_run import wait_redrawing
from hepml_coffea.filesets import normalise_fileset, runner_fileset


@pytest.fixture(scope="module")
def fileset():
    return normalise_fileset(
        {
            "pfnano": {"files": {str(cms_file("pfnano")): "Events"}},
            "drell_yan": [str(cms_file("drell_yan"))],
        }
    )


@pytest.fixture(scope="module")
def reference(fileset, dnn_plugin):
    return run_processor(
        TaggingProcessor(["cutbased", dnn_plugin]),
        fileset,
        executor="iterative",
        chunksize=3,
        progress=False,
    )


def _assert_same(output, reference):
    assert output["cutflow"] == reference["cutflow"]
    assert set(output["hists"]) == {"cutbased_top", "substructure_dnn_top"}
    for column, histogram in reference["hists"].items():
        assert output["hists"][column] == histogram, column


def test_reference_output_counts_the_real_files(reference):
    assert reference["cutflow"]["pfnano"] == {
        "events": 10,
        "events with a jet": 10,
        "jets": 24,
        "selected jets": 24,
    }
    assert reference["cutflow"]["drell_yan"]["events"] == 40
    assert reference["cutflow"]["drell_yan"]["jets"] == 0
    dnn = reference["hists"]["substructure_dnn_top"]
    assert dnn[{"dataset": "pfnano"}].sum(flow=True).value == 24


def test_futures_executor_matches(fileset, dnn_plugin, reference):
    output = run_processor(
        TaggingProcessor(["cutbased", dnn_plugin]),
        fileset,
        executor="futures",
        workers=2,
        chunksize=3,
        progress=False,
    )
    _assert_same(output, reference)


def test_distributed_cluster_runner_and_apply_to_fileset_match_and_load_once_per_worker(
    fileset, dnn_plugin, reference
):
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        output = run_processor(
            TaggingProcessor(["cutbased", dnn_plugin]),
            fileset,
            executor="dask",
            chunksize=2,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
        with Client(cluster) as client:
            loads = client.run(runtime.load_count)
            runner = processor.Runner(
                executor=processor.DaskExecutor(client=client, status=False),
                schema=PFNanoAODSchema,
                chunksize=3,
            )
            runner_output = runner(
                runner_fileset(fileset),
                processor_instance=TaggingProcessor(["cutbased", dnn_plugin]),
            )
            loads_after_runner = client.run(runtime.load_count)
    _assert_same(output, reference)
    _assert_same(runner_output, reference)
    assert loads_after_runner == loads, "the Runner's Dask executor reloaded the model on a worker"
    # 5 chunks of the pfnano file ran on 2 workers; each worker loaded the model at most once
    assert all(n <= 1 for n in loads.values()), loads
    assert sum(loads.values()) >= 1


def test_local_dask_executor_without_scheduler_matches(fileset, reference):
    output = run_processor(
        TaggingProcessor(["cutbased"]),
        fileset,
        executor="dask",
        workers=1,
        chunksize=4,
        progress=False,
    )
    assert output["cutflow"] == reference["cutflow"]
    assert output["hists"]["cutbased_top"] == reference["hists"]["cutbased_top"]


def _profiler_enabled() -> bool:
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


def test_the_local_cluster_runs_its_workers_without_the_dashboards_profiler():
    with local_cluster(1) as cluster, Client(cluster) as client:
        assert list(client.run(_profiler_enabled).values()) == [False]
    assert _profiler_enabled(), "the setting leaked out of the cluster's creation"


class _CountingBar:
    refreshes = 0

    def refresh(self):
        self.refreshes += 1


def _fails_after(seconds: float) -> None:
    time.sleep(seconds)
    raise RuntimeError("the chunk failed")


def test_the_progress_bar_is_redrawn_while_a_submission_computes():
    """The bar moves once per submission; in between its clock must still run (with the run's
    client, which is not the process's default)."""
    bar = _CountingBar()
    with (
        LocalCluster(n_workers=1, processes=False) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        future = client.submit(_fails_after, 1.5)
        started = time.perf_counter()
        wait_redrawing([future], bar, every=0.1)  # returns on failure: gather raises it
        waited = time.perf_counter() - started
        assert future.status == "error"
    # about every 0.1 s of the wait (which the worker's start lengthens), and no busy loop
    assert 5 <= bar.refreshes <= waited / 0.1 + 1, (bar.refreshes, waited)


def _preprocessed(steps_per_file: dict[str, list]) -> dict:
    files = {
        path: {"object_path": "Events", "steps": steps} for path, steps in steps_per_file.items()
    }
    return {"data": {"files": files, "metadata": {"kind": "data"}, "form": "F"}}


def test_submissions_cut_the_chunks_in_order_and_keep_every_one():
    whole = _preprocessed(
        {"a.root": [[0, 2], [2, 4], [4, 5]], "empty.root": [], "b.root": [[0, 3]]}
    )
    whole["mc"] = _preprocessed({"c.root": [[0, 1], [1, 2]]})["data"]
    parts = submissions(whole, 2)
    assert [chunk_count(part) for part in parts] == [2, 2, 2]
    assert parts[0] == {
        "data": {
            **whole["data"],
            "files": {"a.root": {"object_path": "Events", "steps": [[0, 2], [2, 4]]}},
        }
    }
    second = parts[1]["data"]["files"]
    assert list(second) == ["a.root", "empty.root", "b.root"]
    assert [second[f]["steps"] for f in second] == [[[4, 5]], [], [[0, 3]]]
    assert parts[2] == {"mc": whole["mc"]}
    assert submissions(whole, 100) == [whole]


class _MostTasksHeld(WorkerPlugin):
    """The most tasks the worker knew at once, checked at every task transition."""

    name = "most-tasks-held"

    def setup(self, worker):
        self.worker, self.most = worker, 0

    def transition(self, key, start, finish, **kwargs):
        self.most = max(self.most, len(self.worker.state.tasks))


def _most_tasks_held(dask_worker) -> int:
    return dask_worker.plugins[_MostTasksHeld.name].most


def test_a_dask_worker_holds_only_the_tasks_of_the_submissions_in_flight():
    """All 20 chunks in one graph: the worker keeps every task until the end; two chunks per
    submission: only those on the cluster. The output is the same."""
    fileset = normalise_fileset({"drell_yan": [str(cms_file("drell_yan"))]})
    held, outputs = {}, {}
    with local_cluster(1) as cluster, Client(cluster) as client:
        for per_submission in (0, 2):
            client.register_plugin(_MostTasksHeld())  # replaces the last one, count from 0
            outputs[per_submission] = run_processor(
                TaggingProcessor(["cutbased"]),
                fileset,
                executor="dask",
                scheduler=cluster.scheduler_address,
                chunksize=2,
                progress=False,
                chunks_per_submission=per_submission,
            )
            [held[per_submission]] = client.run(_most_tasks_held).values()
    assert held[2] < held[0] / 2, held
    assert outputs[2]["cutflow"] == outputs[0]["cutflow"]
    assert outputs[2]["cutflow"]["drell_yan"]["events"] == 40
    assert outputs[2]["hists"]["cutbased_top"] == outputs[0]["hists"]["cutbased_top"]


def test_a_dask_run_names_the_file_whose_branches_coffea_cannot_merge():
    """NanoAOD and PFNano in one dataset: coffea's preprocess cannot merge their forms."""
    mixed = normalise_fileset({"mixed": [str(cms_file("drell_yan")), str(cms_file("pfnano"))]})
    with pytest.raises(FilesetError) as raised:
        run_processor(TaggingProcessor(["cutbased"]), mixed, executor="dask", workers=1)
    assert re.fullmatch(
        rf"dataset 'mixed': {re.escape(str(cms_file('drell_yan')))} lacks \d+ branch\(es\) that"
        r" other files of the dataset have and that are not bools \(.+\); a dask run .+ or use"
        r" the iterative or futures executor",
        str(raised.value),
    ), raised.value


def test_bad_filesets_and_options_are_refused(tmp_path):
    with pytest.raises(FilesetError, match="missing file"):
        normalise_fileset({"x": [str(tmp_path / "nope.root")]})
    with pytest.raises(FilesetError, match="lists no files"):
        normalise_fileset({"x": {"files": {}}})
    with pytest.raises(FilesetError, match=r"missing file\(s\) \['nope.root'\] \(relative paths"):
        normalise_fileset({"x": ["nope.root"]})
    real = str(cms_file("pfnano"))
    with pytest.raises(FilesetError, match="gives one string, not a list of files"):
        normalise_fileset({"x": real})
    with pytest.raises(FilesetError, match=r"has no \"files\" key \(it has \['file'\]\)"):
        normalise_fileset({"x": {"file": [real]}})
    with pytest.raises(FilesetError, match=r"lists .*pfnano.root'\] more than once"):
        normalise_fileset({"x": [real, real]})
    with pytest.raises(ConfigurationError, match="got no plugins"):
        TaggingProcessor([])
    for option in ("workers", "chunksize"):
        with pytest.raises(ConfigurationError, match=f"{option}=0: give a positive number"):
            run_processor(TaggingProcessor(["cutbased"]), {}, **{option: 0})
    with pytest.raises(ConfigurationError, match="unknown executor"):
        run_processor(TaggingProcessor(["cutbased"]), {}, executor="spark")
    with pytest.raises(ConfigurationError, match="chunks_per_submission=-1"):
        run_processor(TaggingProcessor(["cutbased"]), {}, executor="dask", chunks_per_submission=-1)
    with pytest.raises(ConfigurationError, match="one collection"):
        from hepml_coffea import Output, Plugin, PluginKind
        from hepml_coffea.features import top_window_features

        other = Plugin(
            name="pf",
            kind=PluginKind.PILEUP_REGRESSION,
            collection="PFCands",
            required_branches=("PFCands_pt",),
            outputs=(Output("w"),),
            features=top_window_features,
        )
        TaggingProcessor(["cutbased", other])


@pytest.mark.parametrize("kind", sorted(REFUSED_UP_FRONT))
def test_run_processor_refuses_a_broken_file_before_any_executor_starts(tmp_path, kind):
    path, tree = broken_input(kind, tmp_path)
    fileset = {"ttbar": {"files": {str(path): tree}}}
    # no scheduler listens there: reaching it would fail differently, after a connection timeout
    with pytest.raises(InputFileError) as info:
        run_processor(
            TaggingProcessor(["cutbased"]),
            fileset,
            executor="dask",
            scheduler="tcp://127.0.0.1:9",
            progress=False,
        )
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path} {REFUSED_UP_FRONT[kind]}")


@pytest.mark.parametrize("executor", ["iterative", "futures"])
def test_a_basket_that_cannot_be_read_is_not_retried_and_names_the_file(tmp_path, capfd, executor):
    path, tree = broken_input("zeroed_basket", tmp_path)
    fileset = normalise_fileset({"ttbar": {"files": {str(path): tree}}})
    # the futures executor's process pool passes on only the message of an error, not its class
    expected = InputFileError if executor == "iterative" else Exception
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(expected, match=re.escape(f"{path} could not be read at entries 0-5")):
            run_processor(
                TaggingProcessor(["cutbased"]),
                fileset,
                executor=executor,
                workers=1,
                chunksize=4,
                progress=False,
            )
    assert not [w for w in caught if "Performed attempt" in str(w.message)]
    assert (
        "Performed attempt" not in capfd.readouterr().err
    )  # retries in worker processes warn there
