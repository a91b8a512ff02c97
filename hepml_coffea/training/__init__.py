"""Training plugins' networks on NanoAOD files, through the plugins' own feature builders."""

from hepml_coffea.training.dataset import LabelledFeatures, load_labelled_features
from hepml_coffea.training.decorrelate import Decorrelation
from hepml_coffea.training.fit import TrainingResult, train_plugin
from hepml_coffea.training.mass_profile import MassProfile, fit_mass_profile
from hepml_coffea.training.roc_metrics import classifier_metrics, roc_auc

__all__ = [
    "Decorrelation",
    "LabelledFeatures",
    "MassProfile",
    "TrainingResult",
    "classifier_metrics",
    "fit_mass_profile",
    "load_labelled_features",
    "roc_auc",
    "train_plugin",
]
