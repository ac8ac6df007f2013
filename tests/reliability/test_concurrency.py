"""Concurrency (issue 13, item 2): a predict or evaluate in another thread while fit runs does not change
training (the phase belongs to the call, not to the shared module); two fits on one model at once are
refused with a clear error."""

import threading

import numpy as np

from lstmkit import callbacks, layers
from lstmkit.models import Sequential
from lstmkit.utils import set_random_seed

RNG = np.random.default_rng(0)
X = RNG.normal(size=(192, 6, 3)).astype("float32")
Y = X[:, :, 0].mean(axis=1, keepdims=True).astype("float32")


def _model(metrics=None):
    """Dropout, recurrent dropout and BatchNormalization: the layers that behave differently in training."""
    set_random_seed(0)
    model = Sequential(
        [
            layers.LSTM(8, dropout=0.2, recurrent_dropout=0.1, return_sequences=True, input_shape=(6, 3)),
            layers.BatchNormalization(),
            layers.GRU(4),
            layers.Dropout(0.3),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse", metrics=metrics)
    return model


class Meanwhile:
    """Runs ``work(model)`` over and over in another thread while the fit runs (from its first batch on)."""

    def __init__(self, work):
        self.work, self.calls, self.errors = work, 0, []
        self.stop = threading.Event()
        self.started = threading.Event()

    def loop(self, model):
        self.started.set()
        while not self.stop.is_set():
            try:
                self.work(model)
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(error)
                return
            self.calls += 1


def _fit(model, meanwhile=None, **kwargs):
    thread = None
    extra = []
    if meanwhile is not None:
        thread = threading.Thread(target=meanwhile.loop, args=(model,))

        class Start(callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if not thread.is_alive() and not meanwhile.started.is_set():
                    thread.start()
                    meanwhile.started.wait()

        extra = [Start()]
    try:
        history = model.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=extra, **kwargs)
    finally:
        if meanwhile is not None:
            meanwhile.stop.set()
            if thread.is_alive():
                thread.join()
    return history, np.concatenate([w.ravel() for w in model.get_weights()])


def test_predict_and_evaluate_during_fit_leave_training_exactly_as_without_them():
    _, alone = _fit(_model())
    meanwhile = Meanwhile(lambda m: (m.predict(X[:32], verbose=0), m.evaluate(X[:32], Y[:32], verbose=0)))
    _, shared = _fit(_model(), meanwhile)
    assert not meanwhile.errors, meanwhile.errors
    assert meanwhile.calls >= 3, meanwhile.calls  # they really ran during the fit
    np.testing.assert_array_equal(shared, alone)


def test_evaluate_with_metrics_during_fit_leaves_training_and_its_logs_unchanged():
    history_alone, alone = _fit(_model(metrics=["mae"]))
    meanwhile = Meanwhile(lambda m: m.evaluate(X[:32], Y[:32], verbose=0))
    history, shared = _fit(_model(metrics=["mae"]), meanwhile)
    assert not meanwhile.errors, meanwhile.errors
    np.testing.assert_array_equal(shared, alone)
    assert history.history == history_alone.history


def test_two_fits_on_one_model_at_once_are_refused():
    model = _model()
    errors = []
    second = threading.Thread(target=lambda: _second_fit(model, errors))

    class StartSecond(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and not second.is_alive() and not errors:
                second.start()
                second.join()

    model.fit(X, Y, epochs=1, batch_size=64, verbose=0, callbacks=[StartSecond()])
    (error,) = errors
    assert isinstance(error, RuntimeError)
    for phrase in ("fit is already running on model", model.name, "Wait for the first to finish"):
        assert phrase in str(error), str(error)
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)  # afterwards a fit runs normally


def _second_fit(model, errors):
    try:
        model.fit(X, Y, epochs=1, verbose=0)
    except Exception as error:  # noqa: BLE001 - the test inspects it
        errors.append(error)
