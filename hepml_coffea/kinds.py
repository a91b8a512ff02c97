"""Plugin kinds as objects: what differs between a tagger, a pileup regression and an anomaly score.

A kind is a :class:`Kind` subclass instance, registered through the ``hepml_register_kinds``
hook the way tox registers environment types (``tox_register_tox_env(register)``): the hook is
handed a :class:`KindRegistrar` and adds kinds to it. hepml-coffea's three kinds come through the
very same hook (the ``kinds`` entry point of ``hepml_plugins``), so a fourth kind, built in or
from a third-party package, is one class and one registration.

A kind owns every rule that depends on what its plugins compute:

- its model-card policy (:meth:`Kind.check_card`, e.g. an anomaly score must not have seen signal);
- its training objective (:meth:`Kind.objective`) or its own training (:meth:`Kind.train`);
- whether ``hepml-coffea evaluate`` compares its outputs as scores (:attr:`Kind.scores`);
- the Keras classes its networks need (:meth:`Kind.custom_objects`);
- its own commands (:meth:`Kind.commands`), e.g. ``evaluate-pileup``.

The core asks the plugin's kind; it never branches on a particular kind.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hepml_coffea.errors import ConfigurationError, PluginDefinitionError

if TYPE_CHECKING:
    from hepml_coffea.artifacts import ModelCard
    from hepml_coffea.plugin import Plugin
    from hepml_coffea.training.objective import Objective

KIND_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Command:
    """A ``hepml-coffea`` sub-command a kind adds.

    :param name: the command, e.g. ``"evaluate-pileup"``.
    :param summary: one line for ``hepml-coffea --help``.
    :param add_arguments: adds the command's options to its argparse parser.
    :param run: runs the command on the parsed arguments; returns the exit code.
    """

    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    @classmethod
    def from_module(cls, name: str, summary: str, module: str) -> Command:
        """The command whose ``add_arguments`` and ``run`` are those of ``module`` (a dotted
        name), imported only when the command's parser is built."""
        return cls(name, summary, _FromModule(module, "add_arguments"), _FromModule(module, "run"))


class _FromModule:
    """A module's function, imported on first call."""

    def __init__(self, module: str, function: str) -> None:
        self.module, self.function = module, function

    def __call__(self, *args: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.function)(*args)


class Kind:
    """The behaviour shared by every plugin of one kind; subclass it and register an instance.

    :attr name: the kind's name, as plugins give it (``Plugin(kind="tagger")``).
    :attr description: one line for ``hepml-coffea plugins``.
    :attr plugin_hook: the name of a per-kind registration hook whose plugins are of this kind
        (``hepml_register_taggers``), for packages written before kinds were objects; None for
        kinds whose plugins come through ``hepml_register_plugins`` only.
    :attr scores: whether its outputs are scores that ``hepml-coffea evaluate`` compares on
        signal and background objects (a tagger's, an anomaly score's), rather than
        quantities with their own evaluation (a pileup regression's jets).
    :attr evaluated_by: the command that evaluates plugins of this kind when ``evaluate``
        does not, for the message that refuses them.
    """

    name: str = ""
    description: str = ""
    plugin_hook: str | None = None
    scores: bool = False
    evaluated_by: str = ""

    def check_card(self, plugin: Plugin, card: ModelCard) -> None:
        """Refuse an artifact whose card breaks this kind's rules (called as every model loads)."""

    def custom_objects(self) -> dict[str, type]:
        """Custom Keras classes this kind's networks use (imported only when a model loads)."""
        return {}

    def objective(self, plugin: Plugin) -> Objective:
        """How ``hepml-coffea train`` fits ``plugin``'s network: a classifier, an autoencoder..."""
        raise ConfigurationError(
            f"plugin {plugin.name!r} is a {self.name}, and that kind trains no network through"
            " hepml_coffea.training.train_plugin"
        )

    def add_train_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Options of ``hepml-coffea train`` that only this kind's plugins use."""

    def train(self, plugin: Plugin, args: argparse.Namespace) -> int:
        """``hepml-coffea train --plugin NAME`` for a plugin of this kind; the exit code.

        By default: the labelled objects of ``--signal`` and ``--background`` through the
        plugin's pipeline, fitted with :meth:`objective`."""
        from hepml_coffea.training.command import train_network

        return train_network(plugin, args, self.objective(plugin))

    def commands(self) -> Sequence[Command]:
        """Sub-commands of ``hepml-coffea`` this kind adds."""
        return ()

    def __repr__(self) -> str:
        return f"<hepml-coffea kind {self.name!r} ({type(self).__module__}.{type(self).__name__})>"


class KindRegistrar:
    """What the ``hepml_register_kinds`` hook is handed: call it with each kind to add."""

    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}

    def __call__(self, kind: Kind) -> None:
        if isinstance(kind, type) and issubclass(kind, Kind):
            kind = kind()
        if not isinstance(kind, Kind):
            raise PluginDefinitionError(
                f"register({kind!r}): a kind is an instance of a hepml_coffea.kinds.Kind subclass"
            )
        if not KIND_NAME_PATTERN.match(kind.name or ""):
            raise PluginDefinitionError(
                f"kind {type(kind).__name__}: name {kind.name!r} must be lower-case letters,"
                " digits and hyphens, e.g. 'tagger'"
            )
        if kind.name in self.kinds:
            raise PluginDefinitionError(
                f"kind {kind.name!r} is already registered by {self.kinds[kind.name]!r}"
            )
        self.kinds[kind.name] = kind


def describe(kinds: dict[str, Any]) -> str:
    """``'tagger', 'pileup-regression'``: the registered kind names, for messages."""
    return ", ".join(repr(name) for name in kinds) or "none"
