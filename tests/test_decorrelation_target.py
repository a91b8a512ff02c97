"""The decorrelation target: one definition, its fraction and its region on the R50-1/JSD50 plane."""

import matplotlib
import numpy as np
import pytest

from hepml_coffea.decorrelation import (
    INV_JSD50_GAIN,
    REJECTION_LOSS,
    TARGET_LABEL,
    shade_target,
    target_fraction,
    target_plane,
)
from hepml_coffea.decorrelation.target import target_corner

matplotlib.use("Agg")

PLAIN = {"r50": 120.0, "inv_jsd50": 2.5}


def test_the_corner_of_the_target_is_inside_it_exactly():
    corner = dict(zip(("r50", "inv_jsd50"), target_corner(PLAIN), strict=False))
    assert corner == {"r50": 40.0, "inv_jsd50": 25.0}
    assert target_fraction(corner, PLAIN) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("point", "fraction"),
    [
        ({"r50": 20.0, "inv_jsd50": 100.0}, 0.5),  # decorrelated enough, half the rejection needed
        (
            {"r50": 120.0, "inv_jsd50": 5.0},
            0.2,
        ),  # the plain rejection, a fifth of the 1/JSD50 needed
        ({"r50": 80.0, "inv_jsd50": 50.0}, 2.0),  # inside on both counts: the weaker one counts
    ],
)
def test_the_fraction_is_the_weaker_of_the_two_requirements(point, fraction):
    assert target_fraction(point, PLAIN) == pytest.approx(fraction)


def test_the_plain_tagger_itself_is_a_tenth_of_the_way():
    assert target_fraction(PLAIN, PLAIN) == pytest.approx(1 / INV_JSD50_GAIN)


def test_the_label_states_the_definition():
    assert f"1/{REJECTION_LOSS}" in TARGET_LABEL and f"{INV_JSD50_GAIN}x" in TARGET_LABEL
    assert "issue" not in TARGET_LABEL


def test_the_shaded_region_starts_at_the_corner():
    fig, ax = target_plane(PLAIN, which=" (held-out)")
    region = ax.collections[0]
    vertices = np.concatenate([path.vertices for path in region.get_paths()])
    assert vertices[:, 0].min() == pytest.approx(PLAIN["r50"] / REJECTION_LOSS)
    assert vertices[:, 1].min() == pytest.approx(INV_JSD50_GAIN * PLAIN["inv_jsd50"])
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"{TARGET_LABEL} (held-out)", "plain (held-out)"]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")


def test_shade_target_draws_on_a_given_axis():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    shade_target(ax, PLAIN)
    assert ax.get_legend_handles_labels()[1] == [TARGET_LABEL]
