"""The hepml-coffea command line, called in-process through main()."""

import json
import warnings

import pytest
from broken_inputs import REFUSED_UP_FRONT, broken_input
from coffea.util import load

from hepml_coffea.cli import main
from hepml_coffea.data import cms_file
from hepml_coffea.executors import EXECUTORS


def test_plugins_lists_builtins_with_their_contract(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    dnn = listed["substructure_dnn"]
    assert dnn["kind"] == "tagger" and dnn["collection"] == "FatJet"
    assert dnn["outputs"] == {"substructure_dnn_top": "float32"}
    assert "FatJet_msoftdrop" in dnn["required_branches"]
    assert dnn["artifact"].endswith("substructure_dnn") and dnn["package"] == "hepml-coffea"
    assert listed["cutbased"]["artifact"] is None


def test_plugins_table(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "FatJet.cutbased_top" in out and "hepml-coffea" in out


def test_run_writes_hists_and_cutflow(tmp_path, capsys):
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": {"files": {str(cms_file("pfnano")): "Events"}}}))
    output = tmp_path / "out.coffea"
    assert (
        main(
            [
                "run",
                "--fileset",
                str(fileset),
                "--plugins",
                "cutbased",
                "--output",
                str(output),
                "--chunksize",
                "4",
                "--quiet",
            ]
        )
        == 0
    )
    result = load(output)
    assert result["cutflow"]["cms"]["jets"] == 24
    assert result["hists"]["cutbased_top"][{"dataset": "cms"}].sum(flow=True).value == 24
    assert "cms: events 10" in capsys.readouterr().out


def _run_cli(fileset: dict, executor: str, tmp_path, *options: str) -> tuple[int, list]:
    """``hepml-coffea run`` of ``cutbased`` over ``fileset`` on one worker: the exit code and
    the warnings this process raised."""
    path = tmp_path / "fileset.json"
    path.write_text(json.dumps(fileset))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(
            [
                "run",
                "--fileset",
                str(path),
                "--plugins",
                "cutbased",
                "--executor",
                executor,
                "--workers",
                "1",
                "--output",
                str(tmp_path / "out.coffea"),
                *options,
            ]
        )
    return code, caught


#: what a run must not print: coffea's schema warnings and fileset advertisement, the
#: scheduler's warning about keys sent twice, and any traceback
RUN_NOISE = ("Missing cross-reference", "plain dict fileset", "Detected different", "Traceback")


@pytest.mark.parametrize("executor", EXECUTORS)
def test_run_shows_progress_and_no_noise_on_a_generated_sample(
    executor, generated_ttbar_qcd, tmp_path, capfd
):
    code, caught = _run_cli(
        {"qcd": [str(generated_ttbar_qcd[1])]}, executor, tmp_path, "--chunksize", "100"
    )
    captured = capfd.readouterr()  # worker processes' output too
    assert code == 0, captured.err
    assert "qcd: events 400" in captured.out
    # coffea's bars say "Processing"; the dask run counts chunks
    assert ("chunks: 100%" if executor == "dask" else "Processing") in captured.out + captured.err
    printed = captured.out + captured.err + "\n".join(str(w.message) for w in caught)
    assert not [noise for noise in RUN_NOISE if noise in printed], printed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--plugins", "no_such_tagger"], "no hepml-coffea plugin called 'no_such_tagger'"),
        (
            ["--plugins", "cutbased", "--scheduler", "tcp://127.0.0.1:1"],
            "only applies to the dask executor",
        ),
    ],
)
def test_run_errors_are_one_clear_line(tmp_path, capsys, arguments, message):
    fileset = tmp_path / "fileset.json"
    fileset.write_text(json.dumps({"cms": [str(cms_file("pfnano"))]}))
    assert main(["run", "--fileset", str(fileset), *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_run_with_missing_fileset(tmp_path, capsys):
    assert main(["run", "--fileset", str(tmp_path / "none.json"), "--plugins", "cutbased"]) == 2
    assert "does not exist" in capsys.readouterr().err


def _run_on_broken_input(kind, executor, tmp_path, capfd):
    """Exit code, stderr (of this process and of any worker) and retry warnings of `run`."""
    path, tree = broken_input(kind, tmp_path)
    code, caught = _run_cli(
        {"ttbar": {"files": {str(path): tree}}}, executor, tmp_path, "--chunksize", "4", "--quiet"
    )
    retries = [str(w.message) for w in caught if "Performed attempt" in str(w.message)]
    return path, code, capfd.readouterr().err, retries


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("kind", sorted(REFUSED_UP_FRONT))
def test_run_names_a_broken_input_file_in_one_line_without_retrying(
    tmp_path, capfd, kind, executor
):
    path, code, err, retries = _run_on_broken_input(kind, executor, tmp_path, capfd)
    assert code == 2
    assert err.splitlines() == [err.rstrip("\n")], err
    assert err.startswith(f"hepml-coffea run: error: {path} {REFUSED_UP_FRONT[kind]}")
    assert "Traceback" not in err and "Performed attempt" not in err and not retries


@pytest.mark.parametrize("executor", EXECUTORS)
def test_run_names_a_file_whose_basket_cannot_be_read_in_one_line(tmp_path, capfd, executor):
    """The file passes the up-front check; the zeroed basket is met inside the executor, in the first
    chunk (every executor cuts the 10 entries, at --chunksize 4, into 0-5 and 5-10). The
    futures executor prints a failed chunk's traceback itself, which is held back."""
    path, code, err, retries = _run_on_broken_input("zeroed_basket", executor, tmp_path, capfd)
    assert code == 2
    last = err.splitlines()[-1]
    assert last.startswith(
        f"hepml-coffea run: error: {path} could not be read at entries 0-5 (Deserialization"
    ), err
    assert last.endswith("; re-copy or regenerate it")
    assert "Traceback" not in err and "Performed attempt" not in err and not retries


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_plugin_error_in_a_worker_is_one_line(tmp_path, capfd, executor):
    """pumml needs generated samples' PF-candidate truth, which the CMS file lacks; the error is
    raised where the chunk is processed (in a worker process for futures and dask)."""
    code, _ = _run_cli(
        {"cms": [str(cms_file("pfnano"))]}, executor, tmp_path, "--plugins", "pumml", "--quiet"
    )
    err = capfd.readouterr().err
    assert code == 2
    assert err.splitlines()[-1].startswith(
        "hepml-coffea run: error: plugin 'pumml' needs branch(es) ['PFCands_fromPV']"
    ), err
    assert "Traceback" not in err


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_unreachable_url_is_one_line_after_the_retries(tmp_path, capfd, executor):
    url = "http://127.0.0.1:1/store/ttbar.root"  # nothing listens on port 1: refused at once
    code, _ = _run_cli({"ttbar": [url]}, executor, tmp_path, "--quiet")
    err = capfd.readouterr().err
    assert code == 2
    assert err.splitlines()[-1].startswith(
        f"hepml-coffea run: error: {url} could not be read (ClientConnectorError: Cannot connect"
    ), err
    assert err.splitlines()[-1].endswith("check the URL and the network")
    assert "Traceback" not in err


def test_train_refuses_mass_flattening_without_decorrelation(tmp_path, capsys):
    sample = str(cms_file("pfnano"))
    assert (
        main(
            [
                "train",
                "--plugin",
                "pfn",
                "--signal",
                sample,
                "--background",
                sample,
                "--output",
                str(tmp_path / "pfn"),
                "--flatten-mass",
            ]
        )
        == 2
    )
    assert "add --decorrelate disco or adversary" in capsys.readouterr().err
    assert not (tmp_path / "pfn").exists()


def test_train_refuses_a_fitted_plugin_before_reading_any_file(tmp_path, capsys):
    missing = str(tmp_path / "not_there.root")  # a read would fail differently
    assert main(["train", "--plugin", "pfn_ddt", "--signal", missing, "--background", missing]) == 2
    assert "builds no network to train" in capsys.readouterr().err
