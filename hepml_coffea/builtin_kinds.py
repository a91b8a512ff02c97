"""hepml-coffea's three plugin kinds, registered through the same hook as a third party's
(the ``kinds`` entry point; blocking it leaves no kind and so no plugin)."""

from __future__ import annotations

from hepml_coffea import hookimpl
from hepml_coffea.anomaly.anomaly_kind import AnomalyScoreKind
from hepml_coffea.kinds import KindRegistrar
from hepml_coffea.pileup.pileup_kind import PileupRegressionKind
from hepml_coffea.tagging.tagger_kind import TaggerKind


@hookimpl
def hepml_register_kinds(register: KindRegistrar) -> None:
    register(TaggerKind())
    register(PileupRegressionKind())
    register(AnomalyScoreKind())
