"""Training a tagger decorrelated from the jet mass: DisCo or an adversary.

* **DisCo** (Kasieczka & Shih, arXiv:2001.05310): add ``lambda * dCor²(mass, score)`` over the
  background jets of every batch to the cross entropy. One network, one optimiser, ordinary
  ``model.fit``; dCor² is estimated per batch, so batches must hold enough background jets
  (use a batch size of 1024 or more).
* **Adversary** (Louppe, Kagan & Cranmer, arXiv:1611.01046; Shimmin et al., arXiv:1703.03507):
  a second network predicts the background jet's mass bin from the score; the tagger minimises
  ``cross entropy - lambda * adversary loss`` while the adversary minimises its own loss, one
  step each per batch. Needs the TensorFlow backend (it uses ``tf.GradientTape``).

With ``flatten_mass`` the background jets enter the decorrelation term with weights that make
their mass distribution flat (as Shimmin et al. do for their adversary): the QCD mass spectrum
falls steeply, so unweighted the term is dominated by light jets, while the jets a tagger cut
keeps, and sculpts, sit near the top mass.

Only the tagger is saved: the artifact has the plain network's inputs and outputs, so a
mass-decorrelated plugin runs exactly like its parent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hepml_coffea.errors import ConfigurationError

METHODS = ("disco", "adversary")


@dataclass(frozen=True)
class Decorrelation:
    """How to decorrelate: ``method`` (disco or adversary) with strength ``strength`` (lambda).

    :param mass_bins: the mass is binned into this many bins over ``mass_range`` [GeV] (jets
        outside go to the edge bins): the adversary's classes and the flattening weights.
    :param flatten_mass: weight background jets to a flat mass distribution in the
        decorrelation term (see :func:`background_weights`).
    """

    method: str
    strength: float
    mass_bins: int = 20
    mass_range: tuple[float, float] = (0.0, 300.0)
    flatten_mass: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigurationError(
                f"decorrelation method must be one of {METHODS}, not {self.method!r}"
            )
        if self.strength < 0:
            raise ConfigurationError(
                f"decorrelation strength lambda must be >= 0, got {self.strength}"
            )

    def record(self) -> dict:
        return asdict(self)


#: cap on a flattening weight (mean 1), so the few jets of a sparse mass bin cannot dominate a batch
MAX_FLATTENING_WEIGHT = 10.0


def mass_bin_index(mass: np.ndarray, decorrelation: Decorrelation) -> np.ndarray:
    """The mass bin of every jet; jets outside ``mass_range`` go to the edge bins."""
    low, high = decorrelation.mass_range
    index = np.floor((np.asarray(mass, np.float64) - low) / (high - low) * decorrelation.mass_bins)
    return np.clip(index, 0, decorrelation.mass_bins - 1).astype(np.int64)


def background_weights(
    labels: np.ndarray,
    mass: np.ndarray,
    decorrelation: Decorrelation,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Weight of every jet in the decorrelation term: 0 for signal, 1 for background.

    With ``decorrelation.flatten_mass`` a background jet gets the inverse of its mass bin's
    population instead, normalised to mean 1 and capped at :data:`MAX_FLATTENING_WEIGHT` (then
    normalised again). The populations and means are those of the background jets among the
    ``reference`` rows (the training split, so validation and test jets do not shape the
    training); all rows when ``reference`` is None.
    """
    background = np.asarray(labels) == 0
    weights = background.astype(np.float32)
    counted = background.copy()
    if reference is not None:
        counted[:] = False
        counted[reference] = background[reference]
    if not decorrelation.flatten_mass or not counted.any():
        return weights
    bins = mass_bin_index(np.asarray(mass), decorrelation)
    population = np.bincount(bins[counted], minlength=decorrelation.mass_bins)
    flat = 1.0 / np.maximum(
        population[bins], 1
    )  # a bin empty in the reference rows weighs as one jet
    flat = np.minimum(flat / flat[counted].mean(), MAX_FLATTENING_WEIGHT)
    weights[background] = (flat / flat[counted].mean())[background]
    return weights


def _disco_penalty_layer(strength: float):
    import keras

    from hepml_coffea.training.losses import distance_correlation_loss

    class DiscoPenalty(keras.layers.Layer):
        """Passes the score through and adds lambda * dCor²(mass, score), jets weighted by
        :func:`background_weights` (signal jets weigh 0)."""

        def call(self, inputs):
            score, mass, weight = inputs
            self.add_loss(strength * distance_correlation_loss(mass, score, weight))
            return score

    return DiscoPenalty(name="disco_penalty")


def fit_disco(
    model,
    x,
    y,
    mass,
    train,
    val,
    *,
    decorrelation: Decorrelation,
    epochs: int,
    batch_size: int,
    optimizer,
    callbacks,
    verbose,
) -> dict[str, list[float]]:
    """Fit ``model`` with the DisCo loss; returns the Keras history (``loss`` includes the penalty)."""
    import keras

    features = keras.Input(shape=x.shape[1:], name="features")
    jet_mass = keras.Input(shape=(1,), name="mass")
    weight = keras.Input(shape=(1,), name="decorrelation_weight")
    score = _disco_penalty_layer(decorrelation.strength)([model(features), jet_mass, weight])
    wrapper = keras.Model([features, jet_mass, weight], score)
    wrapper.compile(
        optimizer=optimizer, loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")]
    )

    weights = background_weights(y, mass, decorrelation, reference=train)[:, None]

    def inputs(rows):
        return [x[rows], mass[rows, None].astype(np.float32), weights[rows]]

    history = wrapper.fit(
        inputs(train),
        y[train],
        validation_data=(inputs(val), y[val]),
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
        callbacks=callbacks,
        shuffle=True,
    )
    return history.history


def fit_adversary(
    model,
    x,
    y,
    mass,
    train,
    val,
    *,
    decorrelation: Decorrelation,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    verbose,
) -> dict[str, list[float]]:
    """Alternate adversary and tagger steps; keep the weights with the best validation objective."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ConfigurationError(
            "adversarial decorrelation needs the TensorFlow Keras backend (KERAS_BACKEND=tensorflow)"
        )
    mass_bin = mass_bin_index(mass, decorrelation)
    weights = background_weights(y, mass, decorrelation, reference=train)
    adversary = keras.Sequential(
        [
            keras.Input(shape=(1,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(decorrelation.mass_bins, activation="softmax"),
        ],
        name="mass_adversary",
    )
    tagger_optimizer = keras.optimizers.Adam(learning_rate)
    adversary_optimizer = keras.optimizers.Adam(learning_rate)
    cross_entropy = keras.losses.BinaryCrossentropy()
    mass_loss = keras.losses.SparseCategoricalCrossentropy()
    strength = float(decorrelation.strength)

    @tf.function
    def adversary_step(xb, bins, weight):
        score = model(xb, training=False)
        with tf.GradientTape() as tape:
            loss = mass_loss(bins, adversary(score, training=True), sample_weight=weight)
        grads = tape.gradient(loss, adversary.trainable_variables)
        adversary_optimizer.apply_gradients(zip(grads, adversary.trainable_variables, strict=False))
        return loss

    @tf.function
    def tagger_step(xb, yb, bins, weight):
        with tf.GradientTape() as tape:
            score = model(xb, training=True)
            classification = cross_entropy(yb, score)
            adversary_loss = mass_loss(bins, adversary(score, training=False), sample_weight=weight)
            loss = classification - strength * adversary_loss
        grads = tape.gradient(loss, model.trainable_variables)
        tagger_optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return classification, adversary_loss

    def objective(rows) -> tuple[float, float]:
        score = model.predict(x[rows], batch_size=4096, verbose=0)
        classification = float(cross_entropy(y[rows, None], score))
        adversary_loss = float(
            mass_loss(
                mass_bin[rows], adversary.predict(score, verbose=0), sample_weight=weights[rows]
            )
        )
        return classification, adversary_loss

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {
        "loss": [],
        "classification": [],
        "adversary": [],
        "val_loss": [],
    }
    best, best_weights, waited = np.inf, model.get_weights(), 0
    for epoch in range(epochs):
        order = train[rng.permutation(len(train))]
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            xb, yb = x[rows], y[rows, None]
            bins, weight = mass_bin[rows], weights[rows]
            adversary_step(xb, bins, weight)
            tagger_step(xb, yb, bins, weight)
        classification, adversary_loss = objective(train[: min(len(train), 20_000)])
        val_classification, val_adversary = objective(val)
        val_objective = val_classification - strength * val_adversary
        history["loss"].append(classification - strength * adversary_loss)
        history["classification"].append(classification)
        history["adversary"].append(adversary_loss)
        history["val_loss"].append(val_objective)
        if verbose:
            print(
                f"epoch {epoch + 1}/{epochs}: classification {classification:.4f}, adversary "
                f"{adversary_loss:.4f}, validation objective {val_objective:.4f}",
                flush=True,
            )
        if val_objective < best:
            best, best_weights, waited = val_objective, model.get_weights(), 0
        else:
            waited += 1
            if waited >= patience:
                break
    model.set_weights(best_weights)
    return history
