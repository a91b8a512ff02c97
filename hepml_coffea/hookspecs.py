"""Hook specifications: the only interface between hepml-coffea and plugin packages.

A plugin package exposes a module (or object) through the ``hepml_coffea`` entry-point group and
implements any of these hooks with the :data:`hookimpl` marker::

    # pyproject.toml of the plugin package
    [project.entry-points.hepml_coffea]
    my_tagger = "my_package.hepml"

    # my_package/hepml.py
    from hepml_coffea import hookimpl, Plugin

    @hookimpl
    def hepml_register_plugins():
        return [Plugin(name="my_tagger", kind="tagger", ...)]

Every hook takes keyword arguments only; the plugin hooks return a list, which pluggy collects
from all packages. The built-in kinds and plugins of hepml-coffea are registered through the very
same hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from hepml_coffea.kinds import KindRegistrar
    from hepml_coffea.plugin import Plugin

PROJECT_NAME = "hepml_coffea"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def hepml_register_kinds(register: KindRegistrar) -> None:
    """Add plugin kinds: call ``register(kind)`` with an instance of each
    :class:`hepml_coffea.kinds.Kind` subclass this package defines.

    hepml-coffea's own ``tagger``, ``pileup-regression`` and ``anomaly-score`` kinds are
    registered through this hook too. A kind's name may be used by one package only.

    :param register: the registrar; ``register(kind)`` adds one kind.
    """


@hookspec
def hepml_register_plugins() -> Sequence[Plugin]:
    """Return the plugins this package provides, of any registered kind.

    A plugin whose ``kind`` no installed package registers is skipped with a warning.
    """


@hookspec
def hepml_register_taggers() -> Sequence[Plugin]:
    """Return the jet-tagging plugins this package provides (kept for packages written before
    :func:`hepml_register_plugins`; equivalent to it for plugins of kind ``"tagger"``).

    Taggers add one or more per-object scores (e.g. ``FatJet.particlenet_top``) to a collection.
    Every returned plugin must have ``kind="tagger"``.
    """


@hookspec
def hepml_register_pileup_regressions() -> Sequence[Plugin]:
    """Return the pileup-regression plugins this package provides.

    Pileup regressions estimate, per PF candidate, the share of its energy from the leading
    vertex, and the jets rebuilt from it: they add ``<name>_pt``, ``<name>_mass`` and
    ``<name>_msoftdrop`` to ``FatJet`` and, where the method has a per-candidate weight, the
    weight as ``PFCands.<name>_weight`` (as CMS's ``PFCands_puppiWeight``), with the jet columns
    computed from the weights by :func:`hepml_coffea.pileup.jets.weighted_jets`.
    :func:`hepml_coffea.pileup.contract.pileup_regression` builds such a plugin from a method.
    Every returned plugin must have ``kind="pileup-regression"``.
    """


@hookspec
def hepml_register_anomaly_scores() -> Sequence[Plugin]:
    """Return the anomaly-score plugins this package provides.

    Anomaly scores (e.g. an autoencoder reconstruction loss) are unsupervised per-object scores.
    Every returned plugin must have ``kind="anomaly-score"``.
    """


@hookspec
def hepml_register_custom_objects() -> dict[str, type]:
    """Return the custom Keras classes (layers, losses, ...) the package's models need.

    Models are loaded with ``safe_mode=True``; custom classes are passed to Keras by name so a
    ``.keras`` file can refer to them without executing arbitrary code. Classes should also be
    decorated with ``keras.saving.register_keras_serializable(package=...)``.
    """
