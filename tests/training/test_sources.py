"""fit/evaluate/predict on Sequences, TimeseriesGenerators and generators; steps; single-batch methods."""

import numpy as np
import pytest

from lstmkit import optimizers
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential
from lstmkit.preprocessing.sequence import TimeseriesGenerator
from lstmkit.utils import Sequence


def _linear_model(features=1):
    model = Sequential([Dense(1, input_dim=features, kernel_initializer="ones")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mae", metrics=["mse"])
    return model


class Batches(Sequence):
    """x = 0..n-1 in batches; records which batches were read."""

    def __init__(self, n=10, batch=4, **kwargs):
        super().__init__(**kwargs)
        self.x = np.arange(n, dtype="float32").reshape(n, 1)
        self.batch, self.read, self.epochs_ended = batch, [], 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch))

    def __getitem__(self, index):
        self.read.append(index)
        rows = self.x[index * self.batch : (index + 1) * self.batch]
        return rows, np.zeros((len(rows), 1))

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_fit_on_a_sequence_reads_every_batch_each_epoch_and_calls_on_epoch_end():
    data = Batches()
    history = _linear_model().fit(data, epochs=2, verbose=0)
    assert sorted(data.read) == [0, 0, 1, 1, 2, 2] and data.epochs_ended == 2
    # mae of x against 0 with w=1, b=0 is the mean of 0..9, weighted by batch size.
    assert history.history["loss"] == [pytest.approx(4.5), pytest.approx(4.5)]


def test_evaluate_and_predict_on_sequences_and_steps():
    model = _linear_model()
    assert model.evaluate(Batches(), verbose=0)[0] == pytest.approx(4.5)
    np.testing.assert_allclose(model.predict(Batches(), verbose=0)[:, 0], np.arange(10))
    np.testing.assert_allclose(model.predict(Batches(), steps=2, verbose=0)[:, 0], np.arange(8))
    assert model.evaluate(Batches(), steps=1, verbose=0)[0] == pytest.approx(1.5)


@pytest.mark.parametrize("workers,processes", [(3, False), (2, True)])
def test_parallel_loading_keeps_the_batch_order(workers, processes):
    data = Batches(n=40, batch=3, workers=workers, use_multiprocessing=processes)
    np.testing.assert_allclose(_linear_model().predict(data, verbose=0)[:, 0], np.arange(40))


def test_timeseries_generator_with_fit_generator_and_predict_generator():
    series = np.arange(50, dtype="float32") / 50.0
    generator = TimeseriesGenerator(series.reshape(-1, 1), series, length=3, batch_size=8)
    model = Sequential([LSTM(8, input_shape=(3, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit_generator(generator, steps_per_epoch=len(generator), epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict_generator(generator)
    assert predictions.shape == (47, 1)
    assert model.evaluate_generator(generator) == pytest.approx(
        np.mean((predictions[:, 0] - series[3:]) ** 2), rel=1e-4
    )


def test_endless_generator_needs_steps_per_epoch_and_validation_steps():
    def endless():
        rng = np.random.default_rng(0)
        while True:
            x = rng.normal(size=(4, 2))
            yield x, x.sum(axis=1, keepdims=True)

    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(
        endless(),
        steps_per_epoch=5,
        epochs=3,
        verbose=0,
        validation_data=endless(),
        validation_steps=2,
        validation_freq=[1, 3],
    )
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 2


def test_a_finite_generator_runs_out_with_a_warning():
    batches = ((np.ones((2, 1)), np.ones((2, 1))) for _ in range(3))
    model = _linear_model()
    with pytest.warns(UserWarning, match="ran out of data after 0 batch"):
        history = model.fit(batches, epochs=3, verbose=0)
    assert history.epoch == [0]  # the first epoch used all three batches, the second found none


def test_bad_batches_are_reported_with_their_index():
    def bad():
        yield np.ones((2, 1)), np.ones((2, 1))
        yield np.array([[np.nan], [1.0]]), np.ones((2, 1))

    with pytest.raises(ValueError, match=r"x \(the training data, batch 1\) contains 1 NaN"):
        _linear_model().fit(bad(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"its batches carry the targets: leave y and sample_weight out"):
        _linear_model().fit(Batches(), np.zeros(10), verbose=0)


def test_steps_per_epoch_with_arrays_and_its_limit():
    model = _linear_model()
    x = np.arange(10, dtype="float32").reshape(10, 1)
    history = model.fit(x, np.zeros(10), batch_size=4, steps_per_epoch=2, shuffle=False, epochs=1, verbose=0)
    assert history.history["loss"] == [pytest.approx(np.mean(np.arange(8)))]
    with pytest.raises(
        ValueError, match=r"steps=4 asks for more batches than the data holds: 10 samples make 3"
    ):
        model.fit(x, np.zeros(10), batch_size=4, steps_per_epoch=4, verbose=0)


def test_train_test_predict_on_batch():
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    x, y = np.ones((2, 1)), np.ones((2, 1))
    loss, mae = model.train_on_batch(x, y)
    assert (loss, mae) == (pytest.approx(1.0), pytest.approx(1.0))  # computed before the update
    kernel, bias = model.get_weights()
    assert kernel[0, 0] == pytest.approx(0.2) and bias[0] == pytest.approx(0.2)
    assert model.test_on_batch(x, y, return_dict=True) == {
        "loss": pytest.approx(0.36),
        "mae": pytest.approx(0.6),
    }
    np.testing.assert_allclose(model.predict_on_batch(x), [[0.4], [0.4]], rtol=1e-6)


def test_learning_rate_can_be_changed_between_epochs():
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="zeros", use_bias=False)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(np.ones((1, 1)), np.ones((1, 1)), epochs=1, verbose=0)
    assert model.get_weights()[0][0, 0] == 0.0
    model.optimizer.learning_rate = 0.25
    model.fit(np.ones((1, 1)), np.ones((1, 1)), epochs=1, verbose=0)
    assert model.get_weights()[0][0, 0] == pytest.approx(0.5)  # w -= 0.25 * 2 (w - 1)


def test_use_multiprocessing_with_a_generator_is_refused():
    with pytest.raises(ValueError, match="use_multiprocessing=True needs a Sequence"):
        _linear_model().fit((b for b in []), use_multiprocessing=True, verbose=0)
