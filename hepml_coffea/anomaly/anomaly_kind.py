"""The ``anomaly-score`` kind: scores trained without signal labels; a card that records signal
in training is refused as the model loads."""

from __future__ import annotations

from hepml_coffea.kinds import Command, Kind
from hepml_coffea.plugin import PluginKind

ANOMALY_SCORE = str(PluginKind.ANOMALY_SCORE)


class AnomalyScoreKind(Kind):
    name = ANOMALY_SCORE
    description = "scores trained on background only, e.g. FatJet.jet_autoencoder_score"
    plugin_hook = "hepml_register_anomaly_scores"
    scores = True

    def check_card(self, plugin, card) -> None:
        from hepml_coffea.anomaly.cards import check_background_only

        check_background_only(plugin.name, card)

    def custom_objects(self) -> dict[str, type]:
        from hepml_coffea.anomaly.score_layers import CUSTOM_OBJECTS

        return dict(CUSTOM_OBJECTS)

    def objective(self, plugin):
        from hepml_coffea.anomaly.autoencoder import Autoencoder

        return Autoencoder()

    def commands(self) -> tuple[Command, ...]:
        return (
            Command.from_module(
                "evaluate-anomaly",
                "anomaly scores against msoftdrop alone on held-out samples",
                "hepml_coffea.anomaly.evaluate_anomaly_command",
            ),
        )
