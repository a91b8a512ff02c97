"""The jet mass every decorrelation uses: the processors' histogram axis and the training masses
read this one choice, so a tagger is decorrelated from the mass it is histogrammed against."""

from __future__ import annotations

from collections.abc import Iterable

#: the groomed mass, when the collection has it (FatJet in NanoAOD); else the plain ``mass``
PREFERRED_MASS, FALLBACK_MASS = "msoftdrop", "mass"


def decorrelation_mass_field(fields: Iterable[str]) -> str:
    """The field of a jet collection (given its ``fields``) that holds the mass to decorrelate from."""
    return PREFERRED_MASS if PREFERRED_MASS in fields else FALLBACK_MASS
