"""Labelled training data read from NanoAOD files."""

import pytest
from broken_inputs import broken_input

from hepml_coffea import InputFileError, get_registry
from hepml_coffea.data import cms_file
from hepml_coffea.training import load_labelled_features


def test_a_broken_input_file_is_named_before_any_file_is_read(tmp_path):
    truncated, _ = broken_input("truncated", tmp_path)
    with pytest.raises(InputFileError, match=f"^{truncated} is truncated"):
        load_labelled_features(get_registry().get("cutbased"), [truncated], [cms_file("drell_yan")])
