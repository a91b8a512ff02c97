"""The Keras callbacks every hepml-coffea training uses."""

from __future__ import annotations


def training_callbacks(patience: int) -> list:
    """Early stopping on the validation loss (best weights restored) and a learning rate halved
    on plateaus."""
    import keras

    return [
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        # a plateau halves the step size long before early stopping gives up. Any decrease of
        # the loss counts as progress (min_delta=0, as for early stopping): Keras's default
        # absolute 1e-4 made every epoch a "plateau" for an autoencoder whose loss is ~3e-4
        keras.callbacks.ReduceLROnPlateau(
            factor=0.5, patience=max(1, patience // 3), min_delta=0.0
        ),
    ]
