"""Pileup mitigation, columnar: CHS, area-median, SoftKiller, PUPPI, PUMML, and jets rebuilt from
per-candidate weights (:func:`weighted_jets`), used by the pileup-regression plugins and
``hepml-coffea evaluate-pileup``.

Modules: ``jets`` (the shared weights-to-jet function), ``candidates`` (reading the PF candidates
and jet links), ``chs``, ``area``, ``softkiller``, ``puppi`` (the methods' physics), ``methods``
(each method as events -> weights and jets), ``contract`` (the plugin contract), ``pumml`` (the
PUMML images, shared by training and inference, and the pixels' shares mapped back onto the
candidates), ``training`` (the PUMML network and its training), ``performance`` (bias and
resolution against the pileup-free truth, the top soft-drop-mass peak), ``pileup_kind`` (the
``pileup-regression`` kind), and the commands around them: ``pumml_command`` (``hepml-coffea
train --plugin pumml``), ``performance_command`` (``hepml-coffea evaluate-pileup``).
"""

from hepml_coffea.pileup.jets import WeightedJets, weighted_jets

__all__ = ["WeightedJets", "weighted_jets"]
