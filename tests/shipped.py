"""The built-in network taggers that ship a trained artifact, as the registry lists them: a new
shipped tagger is covered by every test that iterates over them without editing a list."""

from __future__ import annotations

from hepml_coffea import PluginKind, get_registry


def shipped_network_taggers() -> list[str]:
    """Names of hepml-coffea's own taggers with an artifact (every one but ``cutbased``)."""
    return [
        plugin.name
        for plugin in get_registry().plugins.values()
        if plugin.kind is PluginKind.TAGGER
        and plugin.artifact is not None
        and plugin.package == "hepml-coffea"
    ]


NETWORKS = shipped_network_taggers()
