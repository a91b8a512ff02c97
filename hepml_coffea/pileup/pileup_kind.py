"""The ``pileup-regression`` kind: per-candidate leading-vertex weights and the jets rebuilt from
them; trained as regressions on samples with truth, evaluated by bias and resolution."""

from __future__ import annotations

from hepml_coffea.kinds import Command, Kind
from hepml_coffea.plugin import PluginKind

PILEUP_REGRESSION = str(PluginKind.PILEUP_REGRESSION)


class PileupRegressionKind(Kind):
    name = PILEUP_REGRESSION
    description = "leading-vertex weights per PF candidate and the jets rebuilt from them"
    plugin_hook = "hepml_register_pileup_regressions"
    evaluated_by = "evaluate-pileup"

    def add_train_arguments(self, parser) -> None:
        from hepml_coffea.pileup.pumml_command import add_train_arguments

        add_train_arguments(parser)

    def train(self, plugin, args) -> int:
        from hepml_coffea.pileup.pumml_command import run_training

        return run_training(plugin, args)

    def commands(self) -> tuple[Command, ...]:
        return (
            Command.from_module(
                "evaluate-pileup",
                "bias and resolution of the pileup methods from MU 0 to 140",
                "hepml_coffea.pileup.performance_command",
            ),
        )
