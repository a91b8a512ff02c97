"""The ``tagger`` kind: per-object scores, trained as classifiers of signal against background."""

from __future__ import annotations

from hepml_coffea.kinds import Kind
from hepml_coffea.plugin import PluginKind

TAGGER = str(PluginKind.TAGGER)


class TaggerKind(Kind):
    name = TAGGER
    description = "per-object scores, e.g. FatJet.pfn_top, trained on signal and background"
    plugin_hook = "hepml_register_taggers"
    scores = True

    def objective(self, plugin):
        from hepml_coffea.tagging.classifier import Classifier

        return Classifier()
