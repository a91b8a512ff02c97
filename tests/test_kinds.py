"""Plugin kinds as registered objects: the hook, the registry's checks, and what a kind owns."""

import argparse
import types

import awkward as ak
import numpy as np
import pytest

from hepml_coffea import (
    Output,
    Plugin,
    PluginLoadWarning,
    Registry,
    UnknownPluginError,
    hookimpl,
)
from hepml_coffea.kinds import Command, Kind, KindRegistrar
from hepml_coffea.plugin import PluginKind


class ScalarKind(Kind):
    """A fourth kind, as a third party would write it."""

    name = "event-scalar"
    description = "one number per event"

    def __init__(self):
        self.ran = []

    def commands(self):
        return (
            Command("scalar-report", "report", lambda p: p.add_argument("--x"), self.ran.append),
        )


def ones(events) -> np.ndarray:
    return np.ones(int(ak.sum(ak.num(events.FatJet))), np.float32)


def _plugin(name: str, kind: str) -> Plugin:
    return Plugin(
        name=name,
        kind=kind,
        collection="FatJet",
        required_branches=("FatJet_pt",),
        outputs=(Output("score"),),
        features=ones,
    )


def _module(**hooks):
    module = types.SimpleNamespace()
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def test_builtin_kinds_come_through_the_kinds_hook():
    registry = Registry(autoload=False)
    assert list(registry.kinds) == [str(kind) for kind in PluginKind]
    assert registry.manager.get_plugin("kinds") is not None  # an entry point like any other
    for plugin in registry.plugins.values():
        assert registry.kind_of(plugin).name == plugin.kind


def test_a_package_adds_a_kind_and_its_plugins():
    registry = Registry(autoload=False)
    kind = ScalarKind()
    registry.register(
        _module(
            hepml_register_kinds=lambda register: register(kind),
            hepml_register_plugins=lambda: [
                _plugin("scalar_a", "event-scalar"),
                _plugin("tag_b", "tagger"),
            ],
        ),
        name="scalars",
        distribution="scalar-dist",
    )
    assert registry.kinds["event-scalar"] is kind
    assert registry.plugins["scalar_a"].package == "scalar-dist"
    assert registry.kind_of(registry.plugins["scalar_a"]) is kind
    assert registry.kind_of(registry.plugins["tag_b"]).name == "tagger"


def test_unregistered_and_duplicate_kinds_warn_and_are_skipped():
    registry = Registry(autoload=False)
    registry.register(
        _module(
            hepml_register_kinds=lambda register: register(ScalarKind()),
            hepml_register_plugins=lambda: [_plugin("orphan", "no-such-kind")],
        ),
        name="first",
        distribution="first-dist",
    )
    registry.register(
        _module(hepml_register_kinds=lambda register: register(ScalarKind())),
        name="second",
        distribution="second-dist",
    )
    with pytest.warns(PluginLoadWarning) as record:
        plugins = registry.plugins
    messages = "\n".join(str(w.message) for w in record)
    assert "kind 'event-scalar' is already registered by 'first-dist'" in messages
    assert "'orphan' is of kind 'no-such-kind', which no loaded package registers" in messages
    assert "orphan" not in plugins
    with pytest.raises(UnknownPluginError, match="kind 'no-such-kind', which no loaded package"):
        registry.kind_of(_plugin("orphan", "no-such-kind"))


def test_registrar_refuses_what_is_not_a_kind():
    register = KindRegistrar()
    with pytest.raises(Exception, match="instance of a hepml_coffea.kinds.Kind subclass"):
        register(object())
    nameless = type("Nameless", (Kind,), {})
    with pytest.raises(Exception, match="must be lower-case letters"):
        register(nameless())


def test_blocking_the_anomaly_plugins_keeps_the_anomaly_layers():
    """The layers an anomaly-score artifact needs come with its kind, not with the built-in
    anomaly plugins: a third-party anomaly score loads with `anomaly` blocked."""
    from hepml_coffea.anomaly.score_layers import CUSTOM_OBJECTS

    registry = Registry(autoload=False, blocked={"anomaly"})
    assert "jet_autoencoder" not in registry.plugins
    assert set(CUSTOM_OBJECTS) <= set(registry.custom_objects())


def test_a_kind_adds_its_commands_to_the_cli(monkeypatch):
    from hepml_coffea import cli, registry

    test_registry = Registry(autoload=False)
    kind = ScalarKind()
    test_registry.register(
        _module(hepml_register_kinds=lambda register: register(kind)), name="scalars"
    )
    monkeypatch.setattr(registry, "_default_registry", test_registry)
    args = cli.build_parser().parse_args(["scalar-report", "--x", "7"])
    args.func(args)
    assert isinstance(kind.ran[0], argparse.Namespace) and kind.ran[0].x == "7"
    assert "evaluate-pileup" in cli.build_parser().format_help()  # the built-in kinds' commands
