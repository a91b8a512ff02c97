"""Opening the real CMS NanoAOD files shipped in hepml_coffea/data/cms as NanoEvents."""

import warnings

from hepml_coffea.data import cms_file
from hepml_coffea.events import open_nanoaod


def open_events(key: str, mode: str = "eager", schema=None):
    """The shipped CMS file ``key`` (its dataset name), without the schema's cross-reference
    warnings about collections these small files do not carry."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_nanoaod(cms_file(key), mode, dataset=key, schema=schema)
