"""Charged-hadron subtraction: candidates whose track comes from a pileup vertex are removed."""

from __future__ import annotations

import numpy as np

from hepml_coffea.pileup.candidates import JetCandidates

#: ``PFCands_fromPV`` of a charged candidate from a pileup vertex (CMS PVAssoc "NoPV")
FROM_PV_PILEUP = 0


def charged_pileup(cands: JetCandidates) -> np.ndarray:
    """Whether each candidate is a charged candidate associated to a pileup vertex."""
    return (cands.charge != 0) & (cands.from_pv == FROM_PV_PILEUP)


def chs_weights(cands: JetCandidates) -> np.ndarray:
    """0 for charged pileup, 1 for everything else."""
    return np.where(charged_pileup(cands), 0.0, 1.0)
