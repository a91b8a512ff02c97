"""The tagging processor under every executor gives the same histograms and columns."""

import re
import warnings

import pytest
from broken_inputs import REFUSED_UP_FRONT, broken_input
from coffea import processor
from coffea.nanoevents import PFNanoAODSchema
from distributed import Client, LocalCluster
from hepml_processors import TaggingProcessor

from hepml_coffea import ConfigurationError, FilesetError, InputFileError, runtime
from hepml_coffea.data import cms_file
from hepml_coffea.execution import local_cluster, normalise_fileset, run_processor, runner_fileset


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


def test_bad_filesets_and_options_are_refused(tmp_path):
    with pytest.raises(FilesetError, match="missing file"):
        normalise_fileset({"x": [str(tmp_path / "nope.root")]})
    with pytest.raises(FilesetError, match="lists no files"):
        normalise_fileset({"x": {"files": {}}})
    with pytest.raises(ConfigurationError, match="unknown executor"):
        run_processor(TaggingProcessor(["cutbased"]), {}, executor="spark")
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
