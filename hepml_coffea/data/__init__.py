"""Real CMS NanoAOD files shipped with hepml-coffea, for the demo and the tests (see README.md)."""

from importlib.resources import files
from pathlib import Path

CMS_FILES = {
    "pfnano": "pfnano.root",
    "drell_yan": "nano_dy.root",
    "open_data_ttbar": "nanoAOD_2015_CMS_Open_Data_ttbar.root",
}


def cms_file(key: str) -> Path:
    """Path of a shipped CMS file: ``pfnano``, ``drell_yan`` or ``open_data_ttbar``."""
    return Path(str(files("hepml_coffea") / "data" / "cms" / CMS_FILES[key]))
