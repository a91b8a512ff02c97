"""What every built-in constituent-based top tagger shares: collection, branches, output, artifact."""

from __future__ import annotations

from pathlib import Path

from hepml_coffea import Output, Plugin, PluginKind
from hepml_coffea.features.constituents import constituent_branches
from hepml_coffea.plugin import FeatureBuilder, ModelBuilder

ARTIFACTS = Path(__file__).parent / "artifacts"
TOP_OUTPUT = Output("top", doc="top-vs-QCD probability")


def constituent_top_tagger(
    name: str,
    *,
    features: FeatureBuilder,
    feature_names: tuple[str, ...],
    build_model: ModelBuilder | None,
    description: str,
    standardise: bool = False,
    extra_branches: tuple[str, ...] = (),
) -> Plugin:
    """A FatJet top tagger reading PF candidates (and ``extra_branches``), with its artifact in
    ``plugins/artifacts/<name>``."""
    return Plugin(
        name=name,
        kind=PluginKind.TAGGER,
        collection="FatJet",
        required_branches=(*constituent_branches("FatJet"), *extra_branches),
        outputs=(TOP_OUTPUT,),
        features=features,
        feature_names=feature_names,
        artifact=ARTIFACTS / name,
        build_model=build_model,
        standardise=standardise,
        description=description,
    )
