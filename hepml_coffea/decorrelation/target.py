"""The decorrelation target: how much rejection a mass-decorrelated tagger may give up for how
much less sculpting, relative to the plain tagger measured on the same jets.

A tagger is inside the target when R50 >= R50_plain / REJECTION_LOSS and
1/JSD50 >= INV_JSD50_GAIN x 1/JSD50_plain. The shipped pfn_md and pfn_ddt were chosen by their
:func:`target_fraction` on validation jets.
"""

from __future__ import annotations

from collections.abc import Mapping

#: the target allows keeping as little as a third of the plain tagger's R50 ...
REJECTION_LOSS = 3
#: ... for ten times the plain tagger's 1/JSD50
INV_JSD50_GAIN = 10
TARGET_LABEL = f"target: R50 ≥ 1/{REJECTION_LOSS} of plain, 1/JSD50 ≥ {INV_JSD50_GAIN}x plain"


def target_fraction(point: Mapping[str, float], plain: Mapping[str, float]) -> float:
    """How far into the target a point (``r50``, ``inv_jsd50``) reaches against ``plain``: >= 1 is inside.

    ``min(REJECTION_LOSS R50 / R50_plain, 1/JSD50 / (INV_JSD50_GAIN 1/JSD50_plain))``.
    """
    return min(
        REJECTION_LOSS * point["r50"] / plain["r50"],
        point["inv_jsd50"] / (INV_JSD50_GAIN * plain["inv_jsd50"]),
    )


def target_corner(plain: Mapping[str, float]) -> tuple[float, float]:
    """The target's lowest (R50, 1/JSD50) for the ``plain`` tagger."""
    return plain["r50"] / REJECTION_LOSS, INV_JSD50_GAIN * plain["inv_jsd50"]
