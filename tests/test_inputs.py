"""The up-front check of input files: every real file passes, every broken one is named."""

import time

import awkward as ak
import numpy as np
import pytest
import uproot
from broken_inputs import REFUSED_UP_FRONT, broken_input

from hepml_coffea import InputFileError, check_input_file
from hepml_coffea.data import cms_file
from hepml_coffea.inputs import branches_not_filled_in, check_fileset, remote_read_error


@pytest.mark.parametrize("key", ["pfnano", "drell_yan", "open_data_ttbar"])
def test_the_shipped_cms_files_pass_in_milliseconds(key):
    start = time.perf_counter()
    check_input_file(cms_file(key))
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("kind", sorted(REFUSED_UP_FRONT))
def test_a_broken_file_is_named_with_its_problem(tmp_path, kind):
    path, tree = broken_input(kind, tmp_path)
    with pytest.raises(InputFileError) as info:
        check_input_file(path, tree)
    assert str(info.value).startswith(f"{path} {REFUSED_UP_FRONT[kind]}")
    assert info.value.path == str(path)


def test_a_truncated_file_states_how_much_is_missing(tmp_path):
    path, _ = broken_input("truncated", tmp_path)
    full = cms_file("pfnano").stat().st_size
    with pytest.raises(
        InputFileError, match=rf"\({full // 2} of the {full} bytes its header records\); re-copy"
    ):
        check_input_file(path)


def test_a_file_cut_inside_its_header_is_not_readable(tmp_path):
    path = tmp_path / "header.root"
    path.write_bytes(cms_file("pfnano").read_bytes()[:20])
    with pytest.raises(InputFileError, match="header.root is not a readable ROOT file .*OSError"):
        check_input_file(path)


def test_an_object_that_is_not_a_tree_is_refused():
    with pytest.raises(
        InputFileError, match="holds 'tag' as a TObjString, not a TTree; fix the tree name"
    ):
        check_input_file(cms_file("pfnano"), "tag")


def test_check_fileset_checks_local_files_and_leaves_urls_to_the_executors(tmp_path):
    path, _ = broken_input("empty", tmp_path)
    check_fileset({"remote": {"files": {"https://eos.example/ttbar.root": "Events"}}})
    with pytest.raises(InputFileError, match="ttbar.root is empty"):
        check_fileset(
            {
                "ok": {"files": {str(cms_file("pfnano")): "Events"}},
                "broken": {"files": {str(path): "Events"}},
            }
        )


def _tree(path, jet_fields, **flat):
    jets = ak.zip({name: ak.Array([[1.0], [2.0, 3.0]]) for name in jet_fields})
    with uproot.recreate(path) as file:
        tree = file.mktree("Events", {"Jet": jets.type, **{k: v.dtype for k, v in flat.items()}})
        tree.extend({"Jet": jets, **flat})
    return str(path)


def test_the_files_of_a_dataset_are_compared_branch_by_branch_ignoring_bools(tmp_path):
    """coffea merges the files of a dataset into one form, filling in only missing bools."""
    plain = _tree(tmp_path / "plain.root", ["pt"])
    more = _tree(tmp_path / "more.root", ["pt", "eta", "phi"])
    trigger = _tree(tmp_path / "trigger.root", ["pt"], HLT_Jet=np.array([True, False]))
    remote = "root://eos.example//other.root"
    assert branches_not_filled_in({plain: "Events", more: "Events", remote: "Events"}) == (
        plain,
        ["Jet_eta", "Jet_phi"],
    )
    assert branches_not_filled_in({trigger: "Events", plain: "Events"}) is None
    assert branches_not_filled_in({more: "Events"}) is None


def test_an_xrootd_url_needs_fsspec_xrootd(monkeypatch):
    from hepml_coffea import inputs

    fileset = {"remote": {"files": {"root://eos.example//ttbar.root": "Events"}}}
    monkeypatch.setattr(inputs, "_can_read_xrootd", lambda: False)
    with pytest.raises(InputFileError, match="ttbar.root is an XRootD URL.*pip install fsspec-x"):
        check_fileset(fileset)
    monkeypatch.setattr(inputs, "_can_read_xrootd", lambda: True)
    check_fileset(fileset)  # opened by the executors


SITE_A = "https://site-a.example/store/ttbar_1.root"
SITE_B = "root://site-b.example//store/qcd_1.root"


def _wrapped(error: BaseException) -> Exception:
    """``error`` as the cause of an executor's wrapper, as a run raises it."""
    try:
        raise Exception("Failed processing file") from error
    except Exception as wrapper:
        return wrapper


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (FileNotFoundError(f"{SITE_B} not found"), SITE_B),  # the URL in the message
        (ConnectionRefusedError("Cannot connect to host site-a.example:443"), SITE_A),  # its host
    ],
)
def test_a_network_error_names_the_url_it_is_about(error, named):
    found = remote_read_error(_wrapped(error), [SITE_A, SITE_B, "/local/file.root"])
    assert found.path == named
    assert (
        type(error).__name__ in found.problem and "check the URL and the network" in found.problem
    )
    assert ("voms-proxy-info" in found.problem) == named.startswith("root://")


def test_a_network_error_without_a_clue_counts_the_remote_files():
    found = remote_read_error(TimeoutError("timed out"), [SITE_A, SITE_B])
    assert found.path == f"one of the 2 remote files ({SITE_A}, ...)"
    only = remote_read_error(TimeoutError("timed out"), [SITE_A, "/local/file.root"])
    assert only.path == SITE_A


def test_other_errors_and_local_filesets_are_not_network_errors():
    assert remote_read_error(_wrapped(ValueError("a bug")), [SITE_A]) is None
    assert remote_read_error(OSError("disk full"), ["/local/file.root"]) is None
