"""Anomaly scores: networks trained on background (QCD) jets only, their mass profiles, cards and
evaluation (docs/anomaly.md). Importing this package does not import Keras."""

from hepml_coffea.anomaly.cards import check_background_only

__all__ = ["check_background_only"]
