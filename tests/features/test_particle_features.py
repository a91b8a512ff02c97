"""Particle clouds, constituent lists and jet images: shapes, invariants and physics content."""

import awkward as ak
import numpy as np
import pytest

from hepml_coffea.events import open_nanoaod
from hepml_coffea.features.constituents import jet_constituents
from hepml_coffea.features.images import IMAGE_CHANNELS, jet_images
from hepml_coffea.features.particles import (
    CLOUD_FEATURES,
    MASK_CHANNEL,
    PT_FRACTION_CHANNEL,
    constituent_list,
    constituent_list_names,
    particle_cloud,
)


@pytest.fixture(scope="module")
def events(generated_ttbar_qcd):
    return open_nanoaod(generated_ttbar_qcd[0], "virtual")


def test_particle_cloud_channels(events):
    cloud = particle_cloud(events, n_constituents=40)
    c = jet_constituents(events)
    assert cloud.shape == (c.n_jets, 40, len(CLOUD_FEATURES)) and cloud.dtype == np.float32
    mask = cloud[..., MASK_CHANNEL]
    assert np.array_equal(mask.sum(axis=1), np.minimum(c.counts, 40))
    assert np.all(cloud[mask == 0] == 0), "padding must stay exactly zero"
    real = cloud[mask == 1]
    assert np.allclose(
        np.exp(real[:, CLOUD_FEATURES.index("log_pt")] / 0.7 + 1.7),
        c.pt[c.position < 40],
        rtol=1e-4,
    )
    flags = real[:, CLOUD_FEATURES.index("is_electron") : MASK_CHANNEL]
    assert np.all(flags.sum(axis=1) == 1), "every constituent has exactly one particle type"
    charged_hadron = real[:, CLOUD_FEATURES.index("is_charged_hadron")] == 1
    assert np.all(real[charged_hadron, CLOUD_FEATURES.index("charge")] != 0)
    # the scalar pT sum of a jet's constituents is at least its (vector) pT, and close to it
    full = particle_cloud(events, n_constituents=int(c.counts.max()))
    fractions = full[..., PT_FRACTION_CHANNEL].sum(axis=1)
    assert np.all(fractions > 1 - 1e-5) and np.median(fractions) < 1.05


def test_constituent_list_layout(events):
    flat = constituent_list(events, n_constituents=10)
    assert flat.shape[1] == 30 and len(constituent_list_names(10)) == 30
    triplets = flat.reshape(len(flat), 10, 3)
    assert np.all(np.diff(triplets[..., 0], axis=1) <= 1e-7), "leading constituents first"
    assert constituent_list_names(10)[:3] == ("pt_fraction_0", "x_0", "y_0")


def test_jet_images_hold_the_jet_pt_and_track_count(events):
    images = jet_images(events, pixels=60, half_width=3.0)  # wide enough for every constituent
    c = jet_constituents(events)
    assert images.shape == (c.n_jets, 60, 60, len(IMAGE_CHANNELS))
    assert np.allclose(images[..., :2].sum(axis=(1, 2, 3)), 1.0, atol=1e-5)
    tracks = np.bincount(c.jet, c.charge != 0, minlength=c.n_jets)
    assert np.allclose(images[..., 2].sum(axis=(1, 2)), tracks)
    # DeepTop orientation: the average image is elongated vertically and brighter top-right
    mean_image = images[..., :2].sum(axis=-1).mean(axis=0)
    rows, columns = np.indices(mean_image.shape) - 29.5
    assert np.sum(mean_image * rows**2) > np.sum(mean_image * columns**2)
    assert np.sum(mean_image * rows**3) > 0 and np.sum(mean_image * columns**3) > 0


def test_features_are_identical_eager_and_virtual(generated_ttbar_qcd):
    eager = open_nanoaod(generated_ttbar_qcd[1], "eager")
    virtual = open_nanoaod(generated_ttbar_qcd[1], "virtual")
    for builder in (particle_cloud, constituent_list, jet_images):
        assert np.array_equal(builder(eager), builder(virtual))
    assert len(particle_cloud(eager)) == int(ak.sum(ak.num(eager.FatJet)))
