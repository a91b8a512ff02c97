"""Pileup-regression baselines: ``chs``, ``area``, ``softkiller`` and ``puppi`` (no network).

Each adds ``FatJet.<name>_pt``, ``_mass`` and ``_msoftdrop``; the weighted ones (all but
``area``) also ``PFCands.<name>_weight``. The physics lives in :mod:`hepml_coffea.pileup`;
``docs/pileup.md`` has their performance from MU 0 to 140.
"""

from __future__ import annotations

from hepml_coffea import Plugin, hookimpl
from hepml_coffea.pileup import methods
from hepml_coffea.pileup.contract import pileup_regression

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


@hookimpl
def hepml_register_pileup_regressions() -> list[Plugin]:
    return [CHS, AREA, SOFTKILLER, PUPPI]
