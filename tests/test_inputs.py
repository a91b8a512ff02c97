"""The up-front check of input files: every real file passes, every broken one is named."""

import time

import pytest
from broken_inputs import REFUSED_UP_FRONT, broken_input

from hepml_coffea import InputFileError, check_input_file
from hepml_coffea.data import cms_file
from hepml_coffea.inputs import check_fileset


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
    check_fileset({"remote": {"files": {"root://eos.example//ttbar.root": "Events"}}})
    with pytest.raises(InputFileError, match="ttbar.root is empty"):
        check_fileset(
            {
                "ok": {"files": {str(cms_file("pfnano")): "Events"}},
                "broken": {"files": {str(path): "Events"}},
            }
        )
