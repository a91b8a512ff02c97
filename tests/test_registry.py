import types
import warnings

import pytest

from hepml_coffea import (
    Output,
    Plugin,
    PluginDefinitionError,
    PluginKind,
    PluginLoadWarning,
    Registry,
    UnknownPluginError,
    hookimpl,
)
from hepml_coffea.features import top_window_features

BUILTINS = {"cutbased", "substructure_dnn"}


def test_builtins_come_through_entry_points():
    registry = Registry()
    assert BUILTINS <= set(registry.plugins)
    for name in BUILTINS:
        assert registry.plugins[name].package == "hepml-coffea"
        assert registry.manager.get_plugin(name) is not None  # registered as an entry point


def test_disable_autoload_keeps_builtins(monkeypatch):
    monkeypatch.setenv("HEPML_COFFEA_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = Registry()
    assert not registry.autoload
    assert {p.package for p in registry.plugins.values()} == {"hepml-coffea"}


def test_block_list_removes_named_plugins(monkeypatch):
    monkeypatch.setenv("HEPML_COFFEA_BLOCK_PLUGINS", "substructure_dnn, nonexistent")
    registry = Registry()
    assert "substructure_dnn" not in registry.plugins
    assert "cutbased" in registry.plugins
    with pytest.raises(UnknownPluginError, match="blocked by HEPML_COFFEA_BLOCK_PLUGINS"):
        registry.get("substructure_dnn")


def test_unknown_name_lists_known_plugins():
    with pytest.raises(UnknownPluginError, match="Known plugins: .*cutbased"):
        Registry().get("particle_net_typo")


def _plugin(name, kind=PluginKind.TAGGER):
    return Plugin(
        name=name,
        kind=kind,
        collection="FatJet",
        required_branches=("FatJet_tau2",),
        outputs=(Output("score"),),
        features=top_window_features,
    )


def _module(**hooks):
    module = types.SimpleNamespace()
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def test_every_hook_registers_its_kind():
    registry = Registry(autoload=False)
    registry.register(
        _module(
            hepml_register_taggers=lambda: [_plugin("tag_a")],
            hepml_register_pileup_regressions=lambda: [
                _plugin("pu_a", PluginKind.PILEUP_REGRESSION)
            ],
            hepml_register_anomaly_scores=lambda: [_plugin("ad_a", PluginKind.ANOMALY_SCORE)],
            hepml_register_custom_objects=lambda: {"MyLayer": int},
        ),
        name="local",
        distribution="my-dist",
    )
    kinds = {name: p.kind for name, p in registry.plugins.items() if p.package == "my-dist"}
    assert kinds == {
        "tag_a": PluginKind.TAGGER,
        "pu_a": PluginKind.PILEUP_REGRESSION,
        "ad_a": PluginKind.ANOMALY_SCORE,
    }
    assert registry.custom_objects()["MyLayer"] is int


def test_misbehaving_packages_warn_and_are_skipped():
    registry = Registry(autoload=False)

    def broken():
        raise RuntimeError("model zoo offline")

    registry.register(
        _module(hepml_register_taggers=broken), name="broken", distribution="broken-dist"
    )
    registry.register(
        _module(
            hepml_register_taggers=lambda: [
                "not a plugin",
                _plugin("cutbased"),
                _plugin("wrong", PluginKind.ANOMALY_SCORE),
            ]
        ),
        name="sloppy",
        distribution="sloppy-dist",
    )
    with pytest.warns(PluginLoadWarning) as record:
        plugins = registry.plugins
    messages = "\n".join(str(w.message) for w in record)
    assert "'broken-dist'" in messages and "model zoo offline" in messages
    assert "not a hepml_coffea.Plugin" in messages
    assert "already provided by 'hepml-coffea'" in messages
    assert "of kind 'anomaly-score'" in messages
    assert plugins["cutbased"].package == "hepml-coffea"
    assert "wrong" not in plugins


def test_hook_name_typos_are_caught():
    registry = Registry(autoload=False)
    with pytest.raises(
        PluginDefinitionError, match=r"'typo'.*hepml_register_tagers.*hepml_register_taggers"
    ):
        registry.register(_module(hepml_register_tagers=lambda: []), name="typo")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BUILTINS <= set(registry.plugins)


def test_entry_point_name_clash_between_packages_warns(monkeypatch, tmp_path):
    # an installed distribution (its dist-info on sys.path) claiming the built-in's entry point
    dist_info = tmp_path / "impostor_package-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: impostor-package\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[hepml_coffea]\ncutbased = json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(
        PluginLoadWarning, match="'impostor-package'.*already used by 'hepml-coffea'"
    ):
        registry = Registry()
    assert registry.plugins["cutbased"].package == "hepml-coffea"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownPluginError, match=r"Did you mean 'substructure_dnn'\?"):
        Registry().get("substructure_nn")
    with pytest.raises(UnknownPluginError) as info:
        Registry().get("no_such_tagger")
    assert "Did you mean" not in str(info.value)


def test_plugin_of_a_package_that_failed_to_import_says_why(monkeypatch):
    from importlib.metadata import EntryPoint

    import hepml_coffea.registry as registry_module

    class FakeDist:
        metadata = {"Name": "torch-tagger"}

    broken = EntryPoint(
        name="torch_tagger", value="a_module_that_does_not_exist", group="hepml_coffea"
    )._for(FakeDist())
    real = list(registry_module.entry_points(group="hepml_coffea"))
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [*real, broken])
    with pytest.warns(PluginLoadWarning, match="'torch-tagger'"):
        registry = Registry()
    with pytest.raises(UnknownPluginError) as info:
        registry.get("torch_tagger")
    message = str(info.value)
    assert "package 'torch-tagger'" in message and "failed to import" in message
    assert "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in message
    assert "Install the package" not in message and "\n" not in message
