import pytest

from hepml_coffea import Output, Plugin, PluginDefinitionError, PluginKind
from hepml_coffea.features import top_window_features


def make(**overrides):
    fields = dict(
        name="good",
        kind="tagger",
        collection="FatJet",
        required_branches=("FatJet_tau2",),
        outputs=(Output("top"),),
        features=top_window_features,
    )
    fields.update(overrides)
    return Plugin(**fields)


def test_columns_are_named_plugin_underscore_output():
    plugin = make(outputs=(Output("top"), Output("qcd")))
    assert plugin.kind == PluginKind.TAGGER
    assert plugin.column_names == ("good_top", "good_qcd")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": "Bad-Name"}, "lower-case"),
        ({"outputs": ()}, "no outputs"),
        ({"outputs": (Output("top"), Output("top"))}, "duplicate outputs"),
        ({"required_branches": ()}, "no required branches"),
    ],
)
def test_inconsistent_declarations_are_rejected(overrides, message):
    with pytest.raises(PluginDefinitionError, match=message):
        make(**overrides)


def test_malformed_kind_and_bad_output_range_are_rejected():
    with pytest.raises(
        PluginDefinitionError, match=r"kind 'Regressor!' is not a kind name; use one of 'tagger'"
    ):
        make(kind="Regressor!")
    with pytest.raises(PluginDefinitionError, match="dtype 'float33' is not a numpy dtype"):
        Output("top", dtype="float33")
    with pytest.raises(PluginDefinitionError, match="empty"):
        Output("top", range=(1.0, 0.0))
