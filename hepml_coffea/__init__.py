"""hepml-coffea: deep-learning outputs as columns in coffea analyses.

import hepml_coffea
events = hepml_coffea.attach(events, ["cutbased", "substructure_dnn"])
events.FatJet.substructure_dnn_top
"""

from hepml_coffea.columns import attach
from hepml_coffea.errors import (
    ArtifactError,
    ConfigurationError,
    FilesetError,
    HepmlCoffeaError,
    HistogramError,
    InputFileError,
    InvalidInputError,
    LabelledDataError,
    MissingBranchError,
    PluginDefinitionError,
    UnknownPluginError,
)
from hepml_coffea.events import open_nanoaod
from hepml_coffea.hookspecs import hookimpl
from hepml_coffea.inputs import check_input_file
from hepml_coffea.pipeline import run_plugin
from hepml_coffea.plugin import Output, Plugin, PluginKind
from hepml_coffea.registry import PluginLoadWarning, Registry, get_registry

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "ConfigurationError",
    "FilesetError",
    "HepmlCoffeaError",
    "HistogramError",
    "InputFileError",
    "InvalidInputError",
    "LabelledDataError",
    "MissingBranchError",
    "Output",
    "Plugin",
    "PluginDefinitionError",
    "PluginKind",
    "PluginLoadWarning",
    "Registry",
    "UnknownPluginError",
    "attach",
    "check_input_file",
    "get_registry",
    "hookimpl",
    "open_nanoaod",
    "run_plugin",
]
