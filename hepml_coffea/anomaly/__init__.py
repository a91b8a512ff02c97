"""Anomaly scores: networks trained on background (QCD) jets only, their mass profiles, cards and
evaluation (docs/anomaly.md); the ``anomaly-score`` kind (``anomaly_kind``), its autoencoder
objective (``autoencoder``) and ``hepml-coffea evaluate-anomaly`` (``evaluate_anomaly_command``).
Importing this package does not import Keras."""

from hepml_coffea.anomaly.cards import check_background_only

__all__ = ["check_background_only"]
