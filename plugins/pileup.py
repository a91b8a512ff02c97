"""Pileup-regression plugins: the baselines ``chs``, ``area``, ``softkiller`` and ``puppi`` (no
network) and ``pumml`` (a CNN on jet images, arXiv:1707.08600, with its shipped artifact).

Each adds ``FatJet.<name>_pt``, ``_mass`` and ``_msoftdrop``; the weighted ones (all but
``area``) also ``PFCands.<name>_weight``. The physics lives in :mod:`hepml_coffea.pileup`;
``docs/pileup.md`` has their performance from MU 0 to 140.
"""

from __future__ import annotations

from pathlib import Path

from hepml_coffea import Plugin, PluginKind, hookimpl
from hepml_coffea.pileup import methods, pumml
from hepml_coffea.pileup.candidates import candidate_branches
from hepml_coffea.pileup.contract import (
    JET_COLLECTION,
    REGENERATE_HINT,
    pileup_outputs,
    pileup_regression,
)
from hepml_coffea.pileup.training import build_model

CHS = pileup_regression(
    "chs",
    methods.chs,
    weights=True,
    description="charged-hadron subtraction: charged candidates from pileup vertices removed",
)
AREA = pileup_regression(
    "area",
    methods.area_median,
    weights=False,
    branches=methods.RHO_BRANCHES,
    description="CHS, then rho x area (pT) and rho_m x area (mass) subtraction",
)
SOFTKILLER = pileup_regression(
    "softkiller",
    methods.softkiller,
    weights=True,
    branches=methods.SOFTKILLER_BRANCHES,
    description="CHS, then SoftKiller (grid 0.5) on neutral candidates (1407.0408)",
)
PUPPI = pileup_regression(
    "puppi",
    methods.puppi,
    weights=True,
    description="PUPPI weights: alpha from charged leading-vertex neighbours (1407.6013)",
)


PUMML = Plugin(
    name="pumml",
    kind=PluginKind.PILEUP_REGRESSION,
    collection=JET_COLLECTION,
    required_branches=candidate_branches(JET_COLLECTION),
    outputs=pileup_outputs(True),
    features=pumml.pumml_features,
    feature_names=pumml.CHANNELS,
    artifact=Path(__file__).parent / "artifacts" / "pumml",
    postprocess=pumml.PummlColumns(),
    postprocess_events=True,
    build_model=build_model,
    standardise=False,
    description="PUMML: a CNN on charged-LV / charged-PU / neutral images predicts each neutral "
    "pixel's leading-vertex share (1707.08600)",
    input_hint=REGENERATE_HINT,
)


@hookimpl
def hepml_register_pileup_regressions() -> list[Plugin]:
    return [CHS, AREA, SOFTKILLER, PUPPI, PUMML]
