"""Sequential: shapes, summary, weights, data containers, History, validation, evaluate return types."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit.layers import LSTM, Activation, Dense, Input, InputLayer
from lstmkit.models import Sequential


def _lstm_params(units, features):
    return 4 * (units * (features + units) + units)  # Keras's count (one bias)


def test_summary_table_and_keras_parameter_counts(capsys):
    model = Sequential(
        [LSTM(10, input_shape=(1, 1), return_sequences=True), LSTM(7, activation="relu"), Dense(1)]
    )
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out
    assert "lstm" in out and "(LSTM, fused)" in out and "(LSTM, generic)" in out and "(Dense)" in out
    assert "(None, 1, 10)" in out and "(None, 7)" in out and "(None, 1)" in out
    total = _lstm_params(10, 1) + _lstm_params(7, 10) + 8
    assert f"Total params: {total:,} ({total * 4 / 1024:.2f} KB)" in out
    assert f"Trainable params: {total:,}" in out and "Non-trainable params: 0 (0.00 B)" in out
    assert model.count_params() == total


def test_summary_of_an_unbuilt_model_and_frozen_layers(capsys):
    Sequential([LSTM(4), Dense(1)]).summary()
    assert "0 (unbuilt)" in capsys.readouterr().out
    model = Sequential([Dense(3, input_dim=2), Dense(1)])
    model.layers[0].trainable = False
    model.summary()
    out = capsys.readouterr().out
    assert "Trainable params: 4 " in out and "Non-trainable params: 9 " in out


@pytest.mark.parametrize(
    "first",
    [
        lambda: [LSTM(4, input_shape=(3, 2))],
        lambda: [LSTM(4, batch_input_shape=(None, 3, 2))],
        lambda: [LSTM(4, input_dim=2, input_length=3)],
        lambda: [Input(shape=(3, 2)), LSTM(4)],
        lambda: [keras.Input((3, 2)), LSTM(4)],
        lambda: [InputLayer(input_shape=(3, 2)), LSTM(4)],
    ],
)
def test_every_way_to_declare_the_input_shape(first):
    model = Sequential(first() + [Dense(1)])
    assert model.built and model.input_shape == (None, 3, 2) and model.output_shape == (None, 1)


def test_import_lstmkit_as_keras():
    model = keras.Sequential([keras.Input(shape=(2, 1)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=keras.losses.MeanSquaredError())
    assert model.predict(np.zeros((1, 2, 1)), verbose=0).shape == (1, 1)


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a,
        lambda a: a.tolist(),
        lambda a: torch.tensor(a),
        lambda a: a.astype("float64"),
    ],
)
def test_data_containers(convert):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2, 1)), rng.normal(size=(8,))
    model = Sequential([LSTM(3, input_shape=(2, 1)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(convert(x), convert(y), epochs=1, verbose=0)
    assert model.predict(convert(x), verbose=0).shape == (8, 1)


def test_pandas_containers():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [1.0, 2.0, 3.0, 4.0]})
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(frame, pd.Series([1.0, 0.0, 1.0, 0.0]), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.evaluate(frame, frame["a"], verbose=0) > 0


def test_history_records_every_epoch_and_validation():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    model = Sequential([Dense(1, input_dim=3)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=4, verbose=0, validation_data=(x[:5], y[:5]), initial_epoch=1)
    assert history.epoch == [1, 2, 3] and model.history is history
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 for v in history.history.values())
    # Validation is run with the weights at the end of each epoch: the last value equals evaluate().
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[:5], y[:5], verbose=0)[0], rel=1e-6
    )


def test_validation_split_takes_the_last_samples_before_shuffling():
    x = np.arange(10, dtype="float32").reshape(10, 1)
    y = np.zeros((10, 1))
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mae")
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    # 10 * (1 - 0.25) = 7.5 -> 7 training samples; the validation set is x = 7, 8, 9 -> mean |x| = 8.
    assert history.history["val_loss"] == [pytest.approx(8.0)]
    assert history.history["loss"] == [pytest.approx(3.0)]  # mean of 0..6


def test_training_loss_is_the_sample_weighted_mean_of_batch_losses():
    x = np.arange(5, dtype="float32").reshape(5, 1)
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mae")
    history = model.fit(x, np.zeros(5), batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"] == [pytest.approx(2.0)]  # (0+1) + (2+3) + 4 over 5 samples


def test_evaluate_return_types():
    x, y = np.ones((4, 2)), np.ones((4, 1))
    plain = Sequential([Dense(1, input_dim=2)])
    plain.compile(optimizer="sgd", loss="mse")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    with_metrics = Sequential([Dense(1, input_dim=2)])
    with_metrics.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    values = with_metrics.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 3 and values[0] == pytest.approx(values[2])
    assert list(with_metrics.evaluate(x, y, verbose=0, return_dict=True)) == ["loss", "mae", "mse"]


def test_sample_and_class_weights_scale_the_loss():
    x, y = np.ones((4, 1)), np.array([0.0, 0.0, 1.0, 1.0])
    model = Sequential([Dense(1, input_dim=1, kernel_initializer="zeros", use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mae")
    weighted = model.fit(x, y, sample_weight=np.array([1.0, 1.0, 3.0, 3.0]), verbose=0).history["loss"][0]
    assert weighted == pytest.approx((0 + 0 + 3 + 3) / 4)
    by_class = model.fit(x, y, class_weight={0: 1.0, 1: 3.0}, verbose=0).history["loss"][0]
    assert by_class == pytest.approx(weighted)


def test_get_set_weights_and_layer_access():
    model = Sequential([LSTM(3, input_shape=(2, 1), name="rnn"), Dense(1), Activation("sigmoid")])
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(1, 12), (3, 12), (12,), (3, 1), (1,)]
    model.set_weights([w * 0 for w in weights])
    assert all(not w.any() for w in model.get_weights())
    assert model.get_layer("rnn") is model.layers[0]
    with pytest.raises(ValueError, match="No layer named 'rn'"):
        model.get_layer("rn")


def test_frozen_layers_do_not_change_during_fit():
    model = Sequential([Dense(3, input_dim=2), Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((4, 2)), np.zeros(4), epochs=3, verbose=0)
    after = model.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])


def test_same_seed_gives_identical_weights():
    def run():
        keras.utils.set_random_seed(42)
        rng = np.random.default_rng(0)
        model = Sequential([LSTM(5, input_shape=(3, 2)), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(rng.normal(size=(40, 3, 2)), rng.normal(size=40), epochs=3, batch_size=8, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    keras.utils.set_random_seed(43)
    assert not np.array_equal(Sequential([LSTM(5, input_shape=(3, 2))]).get_weights()[0], first[0])
