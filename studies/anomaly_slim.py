"""Re-save the shipped anomaly-score artifacts without optimizer state (hepml_coffea.anomaly.slim).

    python studies/anomaly_slim.py [PLUGIN ...]

Default: every anomaly-score plugin whose artifact lives in this checkout. A profiled artifact's
record of its base's sha256 follows the base when both are re-saved in one call (base first).
"""

from __future__ import annotations

import argparse

from hepml_coffea import get_registry
from hepml_coffea.anomaly.slim import slim_artifact
from hepml_coffea.artifacts import read_card
from hepml_coffea.plugin import PluginKind
from hepml_coffea.runtime import custom_objects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plugins", nargs="*")
    args = ap.parse_args()
    registry = get_registry()
    names = args.plugins or [
        name for name, p in registry.plugins.items() if p.kind == PluginKind.ANOMALY_SCORE
    ]
    renamed: dict[str, str] = {}
    for name in names:
        plugin = registry.get(name)
        old = read_card(plugin.artifact, name).sha256
        card = slim_artifact(plugin.artifact, custom_objects(registry), renamed)
        renamed[old] = card.sha256
        print(f"{name}: {old[:12]} -> {card.sha256[:12]}")


if __name__ == "__main__":
    main()
