"""LambdaCallback and TerminateOnNaN."""

import numpy as np
import pytest

from lstmkit import layers, optimizers
from lstmkit.callbacks import CallbackList, LambdaCallback, TerminateOnNaN
from lstmkit.models import Sequential

from .helpers import series, small_model


def test_lambda_callback_calls_the_given_functions_in_order():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {logs['loss'] > 0}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    small_model().fit(*series(8), epochs=2, batch_size=4, verbose=0, callbacks=[callback])
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_end 0 True",
        "batch_end 1 True",
        "epoch_end 0 ['loss', 'mae']",
        "epoch_begin 1",
        "batch_end 0 True",
        "batch_end 1 True",
        "epoch_end 1 ['loss', 'mae']",
        "train_end",
    ]


def test_keras2_batch_names_other_hooks_and_no_per_batch_work_when_not_asked():
    epoch_only = LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    assert not CallbackList([epoch_only]).wants("on_train_batch_end")
    assert isinstance(epoch_only, LambdaCallback) and type(epoch_only).__name__ == "LambdaCallback"

    calls = []
    callback = LambdaCallback(
        on_batch_begin=lambda batch, logs: calls.append(("begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("keras2", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("keras3", batch)),
        on_test_end=lambda logs: calls.append(("test_end", round(logs["loss"], 3))),
    )
    assert CallbackList([callback]).wants("on_train_batch_end")
    model = small_model()
    x, y = series(8)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[callback])
    assert calls == [("begin", 0), ("keras3", 0), ("keras2", 0)]
    loss = model.evaluate(x, y, verbose=0, callbacks=[callback])[0]
    assert calls[-1] == ("test_end", round(loss, 3))


def test_lambda_callback_argument_errors():
    with pytest.raises(TypeError, match="on_epoch_ned.*Did you mean 'on_epoch_end'"):
        LambdaCallback(on_epoch_ned=print)
    with pytest.raises(TypeError, match=r"on_epoch_end=\.\.\.\) needs a function"):
        LambdaCallback(on_epoch_end=3)


def _diverging_model():
    # A learning rate of 1e25: the first step sends the weights to ~1e25, the next loss overflows to inf.
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizers.SGD(learning_rate=1e25), "mse")
    return model


def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    losses = []
    history = _diverging_model().fit(
        x,
        y,
        epochs=3,
        batch_size=4,
        verbose=0,
        callbacks=[
            LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(logs["loss"])),
            TerminateOnNaN(),
        ],
    )
    assert len(losses) == 2 and np.isfinite(losses[0]) and not np.isfinite(losses[1])
    assert len(history.history["loss"]) == 1  # the epoch ends there, and training with it
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out

    with pytest.raises(RuntimeError, match="NaN or infinite loss at batch 1"):
        _diverging_model().fit(
            x, y, epochs=1, batch_size=4, verbose=0, callbacks=[TerminateOnNaN(raise_error=True)]
        )

    history = small_model().fit(*series(12), epochs=2, batch_size=4, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.history["loss"]) == 2
