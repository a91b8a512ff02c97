"""Ready coffea processors, installed as ``hepml_processors``."""

from hepml_processors.tagging import TaggingProcessor

__all__ = ["TaggingProcessor"]
