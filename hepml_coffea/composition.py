"""Plugins that compose: ``pfn@puppi`` is the tagger ``pfn`` on the candidates of ``puppi``.

``BASE@METHOD`` names the plugin ``BASE`` run on the events as the weighted pileup regression
``METHOD`` leaves them (:func:`hepml_coffea.features.weighted.weighted_events`): every PF
candidate scaled by its weight, candidates of weight 0 out of the jets, the jets' pT, mass and
soft-drop mass rebuilt from the same weights. It adds ``<collection>.<BASE>_<METHOD>_<output>``
(``FatJet.pfn_puppi_top``) with ``BASE``'s network and outputs, and reads ``METHOD``'s columns
(:attr:`hepml_coffea.plugin.Plugin.reads`), so :func:`hepml_coffea.attach` attaches ``METHOD``
first, once per chunk, listed or not. The name works wherever a plugin name does: ``attach``,
``--plugins`` and ``train --plugin``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from hepml_coffea.errors import PluginDefinitionError
from hepml_coffea.features.weighted import CANDIDATES, weighted_events
from hepml_coffea.plugin import FeatureBuilder, Plugin

SEPARATOR = "@"


def is_composed(name: str) -> bool:
    return SEPARATOR in name


def split(name: str) -> tuple[str, str]:
    """``"pfn@puppi"`` -> ``("pfn", "puppi")``, or one line saying how to write it."""
    base, _, method = name.partition(SEPARATOR)
    if not base or not method or SEPARATOR in method:
        raise PluginDefinitionError(
            f"plugin {name!r}: write a composed plugin as TAGGER@PILEUP, e.g. pfn@puppi"
        )
    return base.strip(), method.strip()


def weight_output(method: Plugin):
    """``method``'s per-candidate weight output (``PFCands.<method>_weight``), or None."""
    return next(
        (
            output
            for output in method.outputs
            if output.name == "weight" and method.output_collection(output) == CANDIDATES
        ),
        None,
    )


class WeightedFeatures:
    """A feature builder run on the events as a pileup method leaves them (a class, so the
    composed plugin pickles to workers)."""

    def __init__(self, features: FeatureBuilder, method: str, jets: str):
        self.features = features
        self.method = method
        self.jets = jets

    def __call__(self, events):
        return self.features(weighted_events(events, self.method, self.jets))


def compose(base: Plugin, method: Plugin, known: Iterable[Plugin] = ()) -> Plugin:
    """The plugin ``BASE@METHOD`` (module docstring).

    :param known: the plugins installed, whose weighted ones the message refusing a ``method``
        without a per-candidate weight lists.
    """
    name = f"{base.name}{SEPARATOR}{method.name}"
    if weight_output(method) is None:
        weighted = [plugin.name for plugin in known if weight_output(plugin)]
        choices = f" (installed: {', '.join(weighted)})" if weighted else ""
        raise PluginDefinitionError(
            f"plugin {name!r}: {method.name!r} has no per-candidate weight "
            f"({CANDIDATES}.{method.name}_weight), so there are no weighted candidates to run "
            f"{base.name!r} on; compose with a weighted pileup regression{choices}"
        )
    if not any(branch.startswith(f"{CANDIDATES}_") for branch in base.required_branches):
        raise PluginDefinitionError(
            f"plugin {name!r}: {base.name!r} reads no PF candidates ({CANDIDATES}_*), so "
            f"{method.name!r}'s weights would change nothing; compose a constituent tagger"
        )
    if base.postprocess_events:
        raise PluginDefinitionError(
            f"plugin {name!r}: {base.name!r} maps its output with the events "
            "(postprocess_events), which composition does not weight; compose another plugin"
        )
    if base.collection is None:
        raise PluginDefinitionError(
            f"plugin {name!r}: {base.name!r} is event-level; composition weights the candidates"
            " of a collection's objects"
        )
    return dataclasses.replace(
        base,
        name=f"{base.name}_{method.name}",
        features=WeightedFeatures(base.features, method.name, base.collection),
        reads=(*base.reads, method),
        description=f"{base.name} on the candidates of {method.name} (weighted, jets rebuilt)",
    )
