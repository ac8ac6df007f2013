"""The five-step tutorial, call for call (only the import prefix changed from keras to lstmkit)."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.layers import LSTM, Activation, Dense
from lstmkit.models import Sequential
from lstmkit.optimizers import SGD


def _framed_sequence():
    """The worked example's data: each value of 0.0..0.9 predicts the next (pandas shift/concat)."""
    length = 10
    sequence = [i / float(length) for i in range(length)]
    df = pd.DataFrame(sequence)
    df = pd.concat([df.shift(1), df], axis=1)
    df.dropna(inplace=True)  # as the tutorial writes it (pandas 3 warns that `inplace` is deprecated)
    values = df.values
    X, y = values[:, 0], values[:, 1]
    return X.reshape(len(X), 1, 1), y


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_worked_example_reaches_tutorial_quality():
    X, y = _framed_sequence()
    model = Sequential()
    model.add(LSTM(10, input_shape=(1, 1)))
    model.add(Dense(1))
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(X, y, epochs=1000, batch_size=len(X), verbose=0)
    loss = model.evaluate(X, y, verbose=0)
    predictions = model.predict(X, verbose=0)
    assert isinstance(loss, float) and loss < 1e-3
    assert predictions.shape == (9, 1)
    np.testing.assert_allclose(predictions[:, 0], y, atol=0.05)


def test_two_step_and_one_step_definitions_are_the_same_model():
    two_step = Sequential()
    two_step.add(Dense(5, input_dim=2))
    two_step.add(Activation("relu"))
    two_step.add(Dense(1))
    two_step.add(Activation("sigmoid"))
    one_step = Sequential([Dense(5, input_dim=2), Activation("relu"), Dense(1), Activation("sigmoid")])
    assert [type(l).__name__ for l in two_step.layers] == [type(l).__name__ for l in one_step.layers]
    assert [w.shape for w in two_step.get_weights()] == [(2, 5), (5,), (5, 1), (1,)]
    one_step.set_weights(two_step.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_array_equal(one_step.predict(x, verbose=0), two_step.predict(x, verbose=0))


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_deferred_input_shape_is_taken_from_the_first_data():
    model = Sequential()
    model.add(LSTM(2))
    model.add(Dense(1))
    model.compile(optimizer="sgd", loss="mean_squared_error")
    assert not model.built
    X, y = _framed_sequence()
    model.fit(X, y, epochs=2, verbose=0)
    assert model.built and model.layers[0].get_weights()[0].shape == (1, 8)
    assert model.predict(X, verbose=0).shape == (9, 1)


def test_stacked_lstms_with_return_sequences():
    X = np.random.default_rng(1).uniform(size=(20, 3, 1))
    y = X.sum(axis=1)
    model = Sequential()
    model.add(LSTM(5, return_sequences=True, input_shape=(3, 1)))
    model.add(LSTM(5))
    model.add(Dense(1))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, y, epochs=3, batch_size=5, verbose=0)
    assert len(history.history["loss"]) == 3
    assert model.layers[0].output_shape == (None, 3, 5)


def test_sgd_object_with_keras2_lr_takes_effect():
    optimizer = SGD(lr=0.1, momentum=0.3)
    assert optimizer.learning_rate == pytest.approx(0.1)
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    # One step on x=1, y=1 from w=0, b=0: grad of mean (w + b - 1)^2 is -2 for both, so each moves by +0.2.
    model.fit(np.ones((1, 1)), np.ones((1, 1)), epochs=1, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose([kernel[0, 0], bias[0]], [0.2, 0.2], rtol=1e-6)


def _binary_problem(n=240, seed=0):
    """Sequences of 8 values; the class says whether their sum is above the middle."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 8, 1))
    y = (X.sum(axis=(1, 2)) > 4.0).astype("float32")
    return X, y


def test_binary_classification_learns_and_every_step_runs(capsys):
    X, y = _binary_problem()
    model = Sequential()
    model.add(LSTM(10, input_shape=(8, 1)))
    model.add(Dense(1))
    model.add(Activation("sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=60, batch_size=10, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    model.fit(X, y, epochs=1, batch_size=10, verbose=1)
    model.fit(X, y, epochs=1, batch_size=10, verbose=2)
    printed = capsys.readouterr().out
    assert printed.count("24/24") == 2 and "accuracy:" in printed

    X_test, y_test = _binary_problem(seed=1)
    _loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    assert accuracy > 0.85
    probabilities = model.predict(X_test, verbose=0)
    assert probabilities.shape == (240, 1) and probabilities.min() >= 0 and probabilities.max() <= 1
    classes = model.predict_classes(X_test, verbose=0)
    assert classes.dtype == np.int32
    np.testing.assert_array_equal(classes, (probabilities > 0.5).astype("int32"))
    assert np.mean(classes[:, 0] == y_test) == pytest.approx(accuracy)


def test_multiclass_softmax_predict_classes_is_argmax():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4, 2))
    y = np.eye(3)[rng.integers(0, 3, size=30)]
    model = Sequential([LSTM(6, input_shape=(4, 2)), Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0)
    probabilities = model.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict_classes(X), probabilities.argmax(axis=-1))
    _loss, accuracy = model.evaluate(X, y, verbose=0)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(-1) == y.argmax(-1)))
