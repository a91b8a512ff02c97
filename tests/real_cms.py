"""Opening the real CMS NanoAOD files shipped in hepml_coffea/data/cms as NanoEvents."""

import warnings

from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

from hepml_coffea.data import cms_file


def open_events(key: str, mode: str = "eager", schema=PFNanoAODSchema, **kwargs):
    path = cms_file(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NanoEventsFactory.from_root(
            {str(path): "Events"},
            schemaclass=schema,
            mode=mode,
            metadata={"dataset": key, "filename": str(path)},
            **kwargs,
        ).events()
