"""Models of the shapes sequence-prediction tutorials build, trained on small synthetic data to a stated quality."""

import numpy as np
import pytest

from lstmkit import optimizers
from lstmkit.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    MaxPooling1D,
    RepeatVector,
    TimeDistributed,
)
from lstmkit.models import Sequential
from lstmkit.preprocessing.sequence import TimeseriesGenerator, pad_sequences
from lstmkit.utils import to_categorical


def _linear_windows(steps):
    """10, 20, ..., 90 cut into windows of `steps` values, each predicting the next."""
    series = np.arange(10, 100, 10, dtype="float32")
    X = np.array([series[i : i + steps] for i in range(len(series) - steps)])
    y = series[steps:]
    return X, y


@pytest.mark.parametrize(
    "name,layers",
    [
        ("vanilla", lambda: [LSTM(50, activation="relu", input_shape=(3, 1))]),
        (
            "stacked",
            lambda: [
                LSTM(50, activation="relu", return_sequences=True, input_shape=(3, 1)),
                LSTM(50, activation="relu"),
            ],
        ),
        ("bidirectional", lambda: [Bidirectional(LSTM(50, activation="relu"), input_shape=(3, 1))]),
    ],
)
def test_relu_lstms_forecast_a_linear_sequence(name, layers):
    X, y = _linear_windows(3)
    model = Sequential(layers() + [Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X.reshape(-1, 3, 1), y, epochs=300, verbose=0)
    forecast = model.predict(np.array([70, 80, 90], dtype="float32").reshape(1, 3, 1), verbose=0)[0, 0]
    assert abs(forecast - 100.0) < 5.0, f"{name}: forecast {forecast:.1f} for the next value 100"


def test_cnn_lstm_forecasts_a_linear_sequence():
    X, y = _linear_windows(4)
    X = X.reshape(-1, 2, 2, 1)  # two subsequences of two steps each, for the CNN to read one at a time
    model = Sequential(
        [
            TimeDistributed(Conv1D(64, 1, activation="relu"), input_shape=(None, 2, 1)),
            TimeDistributed(MaxPooling1D(pool_size=2)),
            TimeDistributed(Flatten()),
            LSTM(50, activation="relu"),
            Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=400, verbose=0)
    forecast = model.predict(np.array([60, 70, 80, 90], dtype="float32").reshape(1, 2, 2, 1), verbose=0)[0, 0]
    assert abs(forecast - 100.0) < 5.0, f"forecast {forecast:.1f} for the next value 100"


def test_encoder_decoder_multi_step_forecast_beats_persistence():
    rng = np.random.default_rng(0)
    t = np.arange(400, dtype="float32")
    series = np.sin(2 * np.pi * t / 25) + 0.05 * rng.normal(size=t.size).astype("float32")
    n_in, n_out = 12, 4
    windows = np.array([series[i : i + n_in + n_out] for i in range(len(series) - n_in - n_out)])
    X, y = windows[:, :n_in, None], windows[:, n_in:, None]
    train, test = slice(0, 300), slice(300, None)
    model = Sequential(
        [
            LSTM(32, input_shape=(n_in, 1)),
            RepeatVector(n_out),
            LSTM(32, return_sequences=True),
            TimeDistributed(Dense(1)),
        ]
    )
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    model.fit(X[train], y[train], epochs=30, batch_size=32, verbose=0)
    model_mse = model.evaluate(X[test], y[test], verbose=0)
    persistence_mse = float(np.mean((X[test][:, -1:, :] - y[test]) ** 2))  # repeat the last observed value
    assert model_mse < 0.3 * persistence_mse, (model_mse, persistence_mse)


def test_embedding_lstm_classifies_padded_token_sequences():
    rng = np.random.default_rng(1)

    def sample(n):
        sequences, labels = [], []
        for _ in range(n):
            length = rng.integers(3, 15)
            tokens = rng.integers(2, 20, size=length)  # 1 never occurs by chance...
            label = rng.integers(0, 2)
            if label:  # ...so a sequence is positive exactly when it holds the token 1
                tokens[rng.integers(0, length)] = 1
            sequences.append(tokens.tolist())
            labels.append(label)
        return pad_sequences(sequences, maxlen=15), np.array(labels)

    x_train, y_train = sample(600)
    x_test, y_test = sample(200)
    model = Sequential(
        [Embedding(20, 8, mask_zero=True, input_length=15), LSTM(16), Dense(1, activation="sigmoid")]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9


def test_stateful_lstm_recites_the_alphabet_one_letter_per_call():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    X = (np.arange(25, dtype="float32") / 26.0).reshape(25, 1, 1)
    y = to_categorical(np.arange(1, 26), num_classes=26)
    model = Sequential(
        [LSTM(32, batch_input_shape=(1, 1, 1), stateful=True), Dense(26, activation="softmax")]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    for _ in range(100):  # the tutorial's loop: one epoch, then forget the carried state
        model.fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
        model.reset_states()
    recited = ""
    for index in range(25):
        probabilities = model.predict(X[index : index + 1], batch_size=1, verbose=0)
        recited += alphabet[int(probabilities.argmax())]
    assert sum(a == b for a, b in zip(recited, alphabet[1:])) >= 23, recited


def test_gru_learns_a_sine_wave_from_a_timeseries_generator():
    t = np.arange(300, dtype="float32")
    series = np.sin(2 * np.pi * t / 30).reshape(-1, 1)
    generator = TimeseriesGenerator(series, series, length=10, batch_size=16)
    model = Sequential([GRU(16, input_shape=(10, 1)), Dense(1)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    model.fit(generator, epochs=15, verbose=0)
    predictions = model.predict(generator, verbose=0)[:, 0]
    targets = series[10:, 0]
    assert np.abs(predictions - targets).max() < 0.1
