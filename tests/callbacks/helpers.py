"""Small models and data for the callback tests."""

import numpy as np

import lstmkit
from lstmkit import layers
from lstmkit.models import Sequential


class FakeModel:
    """What monitoring callbacks touch when driven by hand: ``stop_training`` and an optimizer."""

    def __init__(self, learning_rate=1.0):
        self.stop_training = False
        self.optimizer = lstmkit.optimizers.SGD(learning_rate=learning_rate)


def drive(callback, values, key="val_loss", model=None):
    """Feed ``{key: value}`` epoch logs to ``callback`` until it stops training; return (epochs, model)."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {key: value})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, model


def series(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1, keepdims=True) * 0.3 + rng.normal(scale=0.5, size=(n, 1))).astype("float32")
    return x, y


def small_model(recurrent="LSTM", learning_rate=0.05, metrics=("mae",)):
    model = Sequential([getattr(layers, recurrent)(8, input_shape=(6, 2)), layers.Dense(1)])
    model.compile(lstmkit.optimizers.Adam(learning_rate), "mse", metrics=list(metrics))
    return model
