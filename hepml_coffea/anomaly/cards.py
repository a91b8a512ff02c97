"""What an anomaly-score card must say: trained on background only."""

from __future__ import annotations

from hepml_coffea.artifacts import ModelCard
from hepml_coffea.errors import ArtifactError


def check_background_only(plugin_name: str, card: ModelCard) -> None:
    """Refuse a card that does not record background-only training (``signal_seen: false``)."""
    provenance = card.provenance
    if provenance.get("signal_seen") is not False:
        raise ArtifactError(
            f"plugin {plugin_name!r}: model card {card.name!r} records signal_seen="
            f"{provenance.get('signal_seen')!r} (trained on {provenance.get('trained_on', 'unknown jets')}); "
            "an anomaly score must be trained on background only: retrain it with "
            f"`hepml-coffea train --plugin {plugin_name} --background QCD.root` (no --signal)"
        )
