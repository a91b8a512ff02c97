"""Training PUMML (``hepml-coffea train --plugin pumml``): images from generated samples with
truth, a small fully convolutional network, and the artifact with its card.

Data: every jet of the training samples (a mixture of MU, by default 0 and 20 to 140, each
generated with its own seed from :data:`hepml_coffea.pileup.performance.TRAINING_SEEDS`, never
the evaluation seed) gives one image (:mod:`hepml_coffea.pileup.pumml`, the same builder the
plugin runs). Jets are split into training, validation and held-out test jets.

Network (after the paper's: a few convolutions from the three channels to one non-negative
value per pixel): three 5 x 5 convolutions (the last dilated, so a pixel sees about 0.85 in
eta and phi around it), joined by a per-image summary (the window's mean of every channel, a
measure of the event's pileup density), then a 1 x 1 convolution with a sigmoid: the share of
the pixel's neutral pT that comes from the leading vertex.

Loss (adapted from the paper's per-pixel squared error on pT): per jet, the squared error of the
share weighted by the pixel's neutral pT, normalised by the jet's neutral pT,
``sum_p N_p (s_p - t_p)^2 / sum_p N_p`` with ``t_p`` the true share. A pixel contributes to the
jet's mass linearly in its pT, so the pixels are weighted linearly, not quadratically as the
squared error of the predicted pT would weigh them; every jet counts the same.
"""

from __future__ import annotations

import datetime
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepml_coffea.errors import HepmlCoffeaError
from hepml_coffea.pileup import pumml
from hepml_coffea.pileup.candidates import JetCandidates
from hepml_coffea.pileup.chs import chs_weights
from hepml_coffea.pileup.contract import jets_from_weights
from hepml_coffea.tensorflow_log import import_keras

#: the default training mixture: (MU, events), one sample (and one seed) per entry: MU 20 to 140,
#: more of the high MU where mitigation matters most, and MU 0, where the network must learn to
#: leave jets without pileup alone
DEFAULT_MIXTURE = (
    (20.0, 1200),
    (60.0, 1200),
    (100.0, 1200),
    (140.0, 1200),
    (60.0, 1500),
    (100.0, 1500),
    (140.0, 1500),
    (140.0, 1500),
    (0.0, 800),
)
N_PIXELS = pumml.PIXELS * pumml.PIXELS


def build_model(input_shape: tuple[int, ...] = (pumml.PIXELS, pumml.PIXELS, 3), filters: int = 16):
    """The PUMML network (see the module docstring); uncompiled."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="pumml_images")
    x = layers.Conv2D(filters, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(filters, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.Conv2D(filters, 5, padding="same", dilation_rate=2, activation="relu", name="conv3")(
        x
    )
    summary = layers.GlobalAveragePooling2D(keepdims=True, name="window_mean")(inputs)
    summary = layers.Conv2D(8, 1, activation="relu", name="density")(summary)
    summary = layers.UpSampling2D(size=input_shape[:2], name="broadcast")(summary)
    x = layers.Concatenate(name="join")([x, summary])
    x = layers.Conv2D(filters, 1, activation="relu", name="mix")(x)
    share = layers.Conv2D(1, 1, activation="sigmoid", name="share")(x)
    outputs = layers.Reshape((input_shape[0] * input_shape[1],), name="shares")(share)
    return keras.Model(inputs, outputs, name="pumml")


def share_loss(y_true, y_pred):
    """``sum N (s - t)^2 / sum N`` per jet; ``y_true`` holds the true shares, then the pixels'
    neutral pT (GeV), concatenated along the last axis."""
    from keras import ops

    n = ops.shape(y_pred)[-1]
    target, neutral = y_true[:, :n], y_true[:, n:]
    return ops.sum(neutral * ops.square(y_pred - target), axis=-1) / (
        ops.sum(neutral, axis=-1) + 1e-3
    )


@dataclass
class SampleImages:
    """The images of one training sample and what the jet-level metrics need."""

    path: Path
    mu: float | None
    cands: JetCandidates
    pixels: pumml.JetPixels
    hard: dict[str, np.ndarray]  # pt, mass, msoftdrop of the pileup-free jets
    start: int  # first jet of this sample in the concatenated arrays


@dataclass
class PileupTrainingData:
    inputs: np.ndarray  # (n_jets, PIXELS, PIXELS, 3) network inputs
    target_share: np.ndarray  # (n_jets, N_PIXELS)
    neutral_pt: np.ndarray  # (n_jets, N_PIXELS)
    mu: np.ndarray  # per jet
    samples: list[SampleImages] = field(default_factory=list)

    @property
    def y(self) -> np.ndarray:
        return np.concatenate([self.target_share, self.neutral_pt], axis=1).astype(np.float32)


def _read(path: Path):
    from hepml_coffea.inputs import check_input_file
    from hepml_coffea.pileup.performance import read_events

    check_input_file(
        path, "Events", tree_fix="pumml trains on NanoAOD files from `hepml-coffea generate`"
    )
    return read_events(path)


def load_training_images(paths: Sequence[Path], mus: Sequence[float | None]) -> PileupTrainingData:
    """Images, true shares and neutral pT of every jet of ``paths`` (samples with truth)."""
    inputs, shares, neutrals, mu_per_jet, samples = [], [], [], [], []
    start = 0
    for path, mu in zip(paths, mus, strict=True):
        events = _read(Path(path))
        if "lvFraction" not in events["PFCands"].fields:
            raise HepmlCoffeaError(
                f"plugin 'pumml': training sample {path} has no {pumml.TARGET_BRANCH} branch (the "
                "regression target); train on samples written by `hepml-coffea generate` (format "
                "v2 or later), or leave out --samples to generate the default mixture"
            )
        cands, pixels = pumml.pumml_candidates(events)
        pt_images = pumml.images(cands, pixels)
        neutral = pt_images[..., 2].reshape(pixels.n_jets, N_PIXELS)
        target = pumml.neutral_lv_target(cands, pixels, pumml.lv_fraction(events))
        share = np.where(neutral > 0, target / np.where(neutral > 0, neutral, 1.0), 0.0)
        inputs.append(pumml.network_inputs(pt_images))
        shares.append(np.clip(share, 0.0, 1.0).astype(np.float32))
        neutrals.append(neutral.astype(np.float32))
        mu_per_jet.append(np.full(pixels.n_jets, np.nan if mu is None else mu))
        jets = events["FatJet"]
        hard = {
            q: ak.to_numpy(ak.flatten(jets[h], axis=1)).astype(np.float64)
            for q, h in (("pt", "hardPt"), ("mass", "hardMass"), ("msoftdrop", "hardMsoftdrop"))
        }
        samples.append(SampleImages(Path(path), mu, cands, pixels, hard, start))
        start += pixels.n_jets
    return PileupTrainingData(
        np.concatenate(inputs),
        np.concatenate(shares),
        np.concatenate(neutrals),
        np.concatenate(mu_per_jet),
        samples,
    )


def _resolution(x: np.ndarray) -> float:
    q16, q84 = np.percentile(x, [16, 84])
    return float(0.5 * (q84 - q16))


def jet_metrics(data: PileupTrainingData, shares: np.ndarray, test: np.ndarray) -> dict[str, Any]:
    """Per MU (samples of one MU pooled), on the held-out ``test`` jets: bias and resolution (GeV)
    of pumml's and CHS's jet pT, mass and soft-drop mass against the pileup-free jet."""
    is_test = np.zeros(len(data.mu), bool)
    is_test[test] = True
    residuals: dict[str, dict[str, list[np.ndarray]]] = {}
    for i, sample in enumerate(data.samples):
        rows = slice(sample.start, sample.start + sample.pixels.n_jets)
        chosen = is_test[rows]
        key = f"sample{i}" if sample.mu is None else f"mu{sample.mu:g}"
        pooled = residuals.setdefault(key, {})
        weights = {
            "pumml": pumml.candidate_weights(sample.cands, sample.pixels, shares[rows]),
            "chs": chs_weights(sample.cands),
        }
        for method, w in weights.items():
            jets = jets_from_weights(sample.cands, w)
            for q in ("pt", "mass", "msoftdrop"):
                residual = getattr(jets, q)[chosen] - sample.hard[q][chosen]
                pooled.setdefault(f"{method}_{q}", []).append(residual)
    out: dict[str, Any] = {}
    for key, pooled in residuals.items():
        entry: dict[str, Any] = {}
        for name, parts in pooled.items():
            residual = np.concatenate(parts)
            entry["jets"] = len(residual)
            entry[f"{name}_bias"] = round(float(np.median(residual)), 2) if len(residual) else None
            entry[f"{name}_resolution"] = round(_resolution(residual), 2) if len(residual) else None
        out[key] = entry
    return out


def training_samples(
    mixture: Sequence[tuple[float, int]], jobs: int = 1, cache: Path | None = None
) -> list[tuple[Path, float, int, float | None]]:
    """(path, MU, seed, generation seconds or None if it was cached) of the training samples of
    ``mixture``, generated into the sample cache if missing; the i-th entry gets
    ``TRAINING_SEEDS[i]``, never the evaluation seed."""
    from hepml_coffea.pileup.performance import EVALUATION_SEED, TRAINING_SEEDS
    from hepml_coffea.samples import SampleConfig, cached_sample
    from hepml_coffea.samples.cache import cache_dir, sample_name

    if len(mixture) > len(TRAINING_SEEDS):
        raise HepmlCoffeaError(
            f"plugin 'pumml': the training mixture has {len(mixture)} samples but only "
            f"{len(TRAINING_SEEDS)} training seeds are reserved; give at most that many MU:EVENTS pairs"
        )
    out = []
    for (mu, n_events), seed in zip(mixture, TRAINING_SEEDS, strict=False):
        if seed == EVALUATION_SEED:  # guarded by a test too: the pools must stay disjoint
            raise HepmlCoffeaError(f"training seed {seed} is the evaluation seed")
        folder = Path(cache) if cache is not None else cache_dir()
        request = SampleConfig(
            "qcd", n_events, output=folder / "unnamed.root", pileup=mu, seed=seed, jobs=jobs
        )
        cached = (folder / sample_name(request)).exists()
        started = time.perf_counter()
        path = cached_sample("qcd", n_events, seed=seed, pileup=mu, jobs=jobs, directory=cache)
        generation = None if cached else round(time.perf_counter() - started, 1)
        out.append((path, float(mu), seed, generation))
    return out


def _check_not_evaluation_sample(path: Path) -> None:
    from hepml_coffea.pileup.performance import EVALUATION_SEED

    if f"_seed{EVALUATION_SEED}_" in Path(path).name:
        raise HepmlCoffeaError(
            f"plugin 'pumml': {path} is an evaluation sample (seed {EVALUATION_SEED}); training on "
            "it would leak the evaluation pileup pool. Train on samples of "
            "hepml_coffea.pileup.performance.TRAINING_SEEDS (leave out --samples to generate them)"
        )


def _mu_of(path: Path) -> float | None:
    """MU from a cached sample's name (``..._pu60_...``); None when the name does not say (it
    only labels the card's per-sample metrics)."""
    import re

    match = re.search(r"_pu([0-9.]+)_", Path(path).name)
    return float(match.group(1)) if match else None


@dataclass
class PileupTrainingResult:
    card: Any
    timings: dict[str, float]


def train_pumml(
    output: Path,
    *,
    samples: Sequence[Path] | None = None,
    mixture: Sequence[tuple[float, int]] = DEFAULT_MIXTURE,
    jobs: int = 1,
    epochs: int = 40,
    batch_size: int = 64,
    patience: int = 6,
    learning_rate: float = 2e-3,
    seed: int = 0,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    verbose: int = 2,
    cache: Path | None = None,
) -> PileupTrainingResult:
    """Train PUMML and write its artifact (``model.keras`` without optimizer state, the card, and
    ``model.onnx`` where the export passes its check).

    :param samples: training files with truth; None: the ``mixture`` of MU, generated (cached)
        with :data:`hepml_coffea.pileup.performance.TRAINING_SEEDS`
    """
    from hepml_coffea.artifacts import sha256_of, write_artifact
    from hepml_coffea.export import export_trained_artifact
    from hepml_coffea.training.fit import _split, _versions

    timings: dict[str, float] = {}
    started = time.perf_counter()
    if samples:
        for path in samples:
            _check_not_evaluation_sample(Path(path))
        chosen = [(Path(p), _mu_of(Path(p)), None, None) for p in samples]
    else:
        chosen = training_samples(mixture, jobs=jobs, cache=cache)
    timings["samples_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    data = load_training_images([c[0] for c in chosen], [c[1] for c in chosen])
    timings["images_s"] = round(time.perf_counter() - started, 1)
    n = len(data.mu)
    if n < 10:
        raise HepmlCoffeaError(
            f"plugin 'pumml': the training samples hold {n} jets; generate more events"
        )

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    train, val, test = _split(n, validation_fraction, test_fraction, seed)
    y = data.y
    model = build_model(tuple(data.inputs.shape[1:]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=share_loss)
    callbacks = [
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=max(1, patience // 3)),
    ]
    started = time.perf_counter()
    history = model.fit(
        data.inputs[train],
        y[train],
        validation_data=(data.inputs[val], y[val]),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=verbose,
    ).history
    timings["fit_s"] = round(time.perf_counter() - started, 1)

    shares = np.asarray(model.predict(data.inputs, batch_size=256, verbose=0))
    test_loss = float(model.evaluate(data.inputs[test], y[test], verbose=0, batch_size=256))
    metrics: dict[str, Any] = {
        "evaluated_on": "held-out test jets of the training samples (same pileup pools); the "
        "evaluation on a pool never seen in training is docs/pileup.md",
        "test_loss": round(test_loss, 5),
        "per_mu": jet_metrics(data, shares, test),
        "epochs_trained": len(history["loss"]),
        "parameters": int(model.count_params()),
    }
    # the shipped network carries no optimizer state: an uncompiled copy with the fitted weights
    shipped = build_model(tuple(data.inputs.shape[1:]))
    shipped.set_weights(model.get_weights())
    provenance = {
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "samples": [
            {
                "file": p.name,
                "mu": mu,
                "seed": s,
                "events": int(len(d.cands.counts)),
                "jets": int(d.pixels.n_jets),
                "sha256": sha256_of(p),
                "generation_s": generation,  # None: taken from the cache
            }
            for (p, mu, s, generation), d in zip(chosen, data.samples, strict=True)
        ],
        "trained_on": ["QCD dijet jets with pileup, target PFCands_lvFraction"],
        "signal_seen": False,
        "n_jets": {"all": n},
        "split": {"train": len(train), "validation": len(val), "test": len(test), "seed": seed},
        "fit": {
            "epochs_max": epochs,
            "batch_size": batch_size,
            "patience": patience,
            "learning_rate": learning_rate,
            "loss": "per jet sum_p N_p (s_p - t_p)^2 / sum_p N_p (neutral-pT-weighted share error)",
            "lr_schedule": "halved after patience // 3 epochs without improvement",
        },
        "image": {
            "pixels": pumml.PIXELS,
            "half_width": pumml.HALF_WIDTH,
            "channels": list(pumml.CHANNELS),
            "input": "log(1 + pT / GeV)",
        },
        "timings_s": timings,
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "versions": _versions(),
    }
    card = write_artifact(
        output,
        shipped,
        name="pumml",
        inputs=list(pumml.CHANNELS),
        input_shape=list(data.inputs.shape[1:]),
        outputs=pumml.pixel_names(),
        preprocessing={},
        batch_size=256,  # 256 images of 40 x 40 x 16 activations: ~100 MB per layer
        provenance=provenance,
        metrics=metrics,
    )
    card = export_trained_artifact(output, plugin_name="pumml")  # model.onnx, as every training
    return PileupTrainingResult(card, timings)
