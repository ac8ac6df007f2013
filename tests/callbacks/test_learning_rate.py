"""LearningRateScheduler and ReduceLROnPlateau: the rates they set, checked by hand."""

import numpy as np
import pytest

import lstmkit
from lstmkit import layers, optimizers
from lstmkit.callbacks import LambdaCallback, LearningRateScheduler, ReduceLROnPlateau
from lstmkit.models import Sequential

from .helpers import FakeModel, series, small_model


def _rates_seen(callbacks, epochs=3):
    model = small_model()
    seen = []
    spy = LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(*series(8), epochs=epochs, verbose=0, callbacks=[*callbacks, spy])
    return seen, history


def test_scheduler_with_two_arguments_and_with_one():
    seen, history = _rates_seen([LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert seen == [0.025, 0.0125, 0.00625]  # from compile's 0.05
    assert history.history["learning_rate"] == seen  # logged as Keras 3 does

    seen, _ = _rates_seen([LearningRateScheduler(lambda epoch: 0.1 if epoch < 2 else 0.01)])
    assert seen == [0.1, 0.1, 0.01]

    def with_default(epoch, lr=1.0):
        return lr / 2

    seen, _ = _rates_seen([LearningRateScheduler(with_default)])
    assert seen == [0.025, 0.0125, 0.00625]  # given a default, lr is still passed (as Keras does)


def test_the_scheduled_rate_is_the_one_sgd_uses():
    # One sample, one weight: w <- w - lr * 2 (w x - y) x, with lr 0.1 then 0.05.
    model = Sequential([layers.Dense(1, use_bias=False, kernel_initializer="ones", input_shape=(1,))])
    model.compile(optimizers.SGD(learning_rate=99.0), "mse")
    x, y = np.array([[2.0]]), np.array([[1.0]])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: [0.1, 0.05][epoch])])
    w = 1.0
    for lr in (0.1, 0.05):
        w -= lr * 2 * (w * 2.0 - 1.0) * 2.0
    assert model.get_weights()[0][0, 0] == pytest.approx(w, rel=1e-6)


def test_scheduler_errors():
    with pytest.raises(TypeError, match="schedule must be a function"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r"finite number >= 0; for epoch 0 it returned 'fast'"):
        _rates_seen([LearningRateScheduler(lambda epoch: "fast")])
    model = Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "mse")
    with pytest.raises(TypeError, match="schedule.*Use one or the other"):
        model.fit(
            np.ones((2, 1)), np.ones((2, 1)), verbose=0, callbacks=[LearningRateScheduler(lambda e: 0.1)]
        )


def _plateau(values, **options):
    callback = ReduceLROnPlateau(**options)
    model = FakeModel(learning_rate=1.0)
    callback.set_model(model)
    callback.on_train_begin()
    logged, after = [], []
    for epoch, value in enumerate(values):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        after.append(model.optimizer.learning_rate)
    return logged, after


VALUES = [1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]


def test_reduce_on_plateau_by_hand():
    # patience 2: no improvement at epochs 1, 2 -> halve at 2; 0.5 improves at 3; then every 2nd epoch.
    logged, after = _plateau(VALUES, patience=2, factor=0.5)
    assert after == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]
    assert logged == [1.0] + after[:-1]  # the rate the epoch trained with
    # patience 1, cooldown 2, floor 0.2: halve at 1; 0.5 improves at 3; halve at 4; cooldown epochs 5-6
    # reset the count but epoch 6 reduces (cooldown over); then the floor holds.
    _, after = _plateau(VALUES, patience=1, factor=0.5, cooldown=2, min_lr=0.2)
    assert after == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]


def test_reduce_on_plateau_arguments_and_training():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.warns(DeprecationWarning, match="min_delta"):
        assert ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5
    with pytest.raises(TypeError, match="cooldwn"):
        ReduceLROnPlateau(cooldwn=1)
    lstmkit.utils.set_random_seed(0)
    _, history = _rates_seen(
        [ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=10.0)], epochs=3
    )
    # The first epoch sets the best value; later ones never beat it by 10, so the rate halves after each.
    assert history.history["learning_rate"] == [0.05, 0.05, 0.025]
