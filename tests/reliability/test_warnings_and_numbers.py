"""Issue 13, items 4-8 beyond the catalogue's errors: warnings that make silent trouble visible (a NaN
loss, extreme inputs, NaN weights saved, partial weight loads), NumPy numbers accepted everywhere, and
the leftovers of killed saves cleaned up."""

import signal
import textwrap
import warnings

import numpy as np
import pytest

from lstmkit import callbacks, layers, optimizers
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential, load_model
from lstmkit.preprocessing.sequence import TimeseriesGenerator, pad_sequences
from lstmkit.utils import set_random_seed, timeseries_dataset_from_array, to_categorical

from ..subprocesses import run_python

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(16, 4, 2)).astype("float32")
Y = RNG.uniform(size=(16, 1)).astype("float32")


def _model(optimizer="adam"):
    model = Sequential([LSTM(3, activation="relu", input_shape=(4, 2)), Dense(1)])
    model.compile(optimizer, "mse")
    return model


def _messages(record):
    return [str(w.message) for w in record]


# ---------------------------------------------------------------------------- divergence
def test_a_nan_loss_warns_once_with_the_likely_causes():
    model = _model(optimizers.SGD(learning_rate=10.0))
    with pytest.warns(UserWarning) as record:
        history = model.fit(X, Y * 100, epochs=4, batch_size=4, verbose=0)
    assert not np.isfinite(history.history["loss"][-1])
    about_loss = [m for m in _messages(record) if "training loss became" in m]
    assert len(about_loss) == 1, about_loss  # once, not once per epoch
    message = about_loss[0]
    for phrase in ("in epoch", "learning rate", "it is 10", "scale", "clipnorm=1.0", "TerminateOnNaN"):
        assert phrase in message, (phrase, message)


def test_a_finite_loss_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model().fit(X, Y, epochs=2, verbose=0)


def test_extreme_inputs_warn_and_suggest_scaling():
    huge = X.copy()
    huge[3, 1, 0] = 1e30
    with pytest.warns(UserWarning, match=r"x holds values up to 1e\+30.*StandardScaler"):
        _model().fit(huge, Y, verbose=0)
    with pytest.warns(UserWarning, match=r"y holds values up to 1e\+20"):
        _model().evaluate(X, np.full_like(Y, 1e20), verbose=0)
    unscaled = X.copy()
    unscaled[:, :, 1] *= 1e8  # e.g. a volume column beside a return column
    with pytest.warns(
        UserWarning, match=r"features of x differ in scale by a factor of .*feature 1.*feature 0"
    ):
        _model().fit(unscaled, Y, verbose=0)


def test_saving_nan_weights_warns(tmp_path):
    model = _model()
    kernel, recurrent, bias = model.layers[0].get_weights()
    kernel[0, 0] = np.nan
    model.layers[0].set_weights([kernel, recurrent, bias])
    with pytest.warns(
        UserWarning, match=r"NaN or infinite values in 1 weight\(s\) \(lstm.*kernel\).*predict NaN"
    ):
        model.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="NaN"):
        model.save_weights(tmp_path / "w.keras")


# ---------------------------------------------------------------------------- weights transfer
def test_load_weights_by_name_reports_what_it_left_out(tmp_path):
    source = Sequential([LSTM(3, input_shape=(4, 2), name="encoder"), Dense(1, name="head")])
    source.save_weights(tmp_path / "w.keras")
    target = Sequential(
        [LSTM(3, input_shape=(4, 2), name="encoder"), Dense(2, name="extra"), Dense(1, name="other_head")]
    )
    before = target.get_layer("extra").get_weights()
    with pytest.warns(UserWarning) as record:
        target.load_weights(tmp_path / "w.keras", by_name=True)
    message = " ".join(_messages(record))
    assert (
        "loaded 1 layer(s) by name" in message
        and "['extra', 'other_head']" in message
        and "['head']" in message
    )
    np.testing.assert_array_equal(
        target.get_layer("encoder").get_weights()[0], source.layers[0].get_weights()[0]
    )
    np.testing.assert_array_equal(target.get_layer("extra").get_weights()[0], before[0])


def test_skip_mismatch_reports_every_skipped_layer(tmp_path):
    source = Sequential([LSTM(3, input_shape=(4, 2)), Dense(2), Dense(1)])
    source.save_weights(tmp_path / "w.keras")
    target = Sequential([LSTM(4, input_shape=(4, 2)), Dense(2), Dense(1)])
    with pytest.warns(UserWarning) as record:
        target.load_weights(tmp_path / "w.keras", skip_mismatch=True)
    (message,) = [m for m in _messages(record) if "skip_mismatch" in m]
    assert "loaded 1 layer(s) and skipped 2" in message
    assert "layer #0" in message and "layer #1" in message and "(2, 12)" in message


# ---------------------------------------------------------------------------- NumPy numbers
def test_numpy_integers_and_floats_are_accepted_wherever_python_numbers_are(tmp_path):
    i, f = np.int64, np.float32
    model = Sequential(
        [
            LSTM(i(4), input_shape=(i(4), i(2)), dropout=f(0.1), recurrent_dropout=np.float64(0.1)),
            layers.Dropout(f(0.2), seed=i(3)),
            Dense(i(1)),
        ]
    )
    model.compile(optimizers.Adam(learning_rate=f(1e-3), beta_1=f(0.9), clipnorm=f(1.0)), "mse")
    history = model.fit(
        X,
        Y,
        batch_size=i(8),
        epochs=i(2),
        initial_epoch=i(0),
        verbose=i(0),
        validation_split=f(0.25),
        validation_freq=i(1),
        callbacks=[
            callbacks.EarlyStopping(monitor="loss", patience=i(2), min_delta=f(0.0)),
            callbacks.ReduceLROnPlateau(
                monitor="loss", factor=f(0.5), patience=i(1), cooldown=i(0), min_lr=f(0)
            ),
            callbacks.ModelCheckpoint(str(tmp_path / "c.keras"), save_freq=i(2)),
        ],
    )
    assert len(history.history["loss"]) == 2
    assert model.predict(X, batch_size=i(4), verbose=i(0), steps=i(2)).shape == (8, 1)
    assert np.isfinite(model.evaluate(X, Y, batch_size=i(8), verbose=i(0)))
    Sequential([layers.Conv1D(i(3), i(2), input_shape=(4, 2)), layers.MaxPooling1D(i(2)), layers.GRU(i(2))])
    Sequential(
        [layers.Embedding(i(10), i(3), input_length=i(5)), layers.SimpleRNN(i(2)), layers.RepeatVector(i(2))]
    )
    layers.BatchNormalization(momentum=f(0.9), epsilon=f(1e-3), axis=i(-1))
    layers.Masking(mask_value=f(0))
    set_random_seed(i(3))
    to_categorical([0, 1], num_classes=i(3))
    pad_sequences([[1, 2]], maxlen=i(4))
    assert len(TimeseriesGenerator(np.arange(20.0), np.arange(20.0), length=i(3), batch_size=i(4))) == 5
    timeseries_dataset_from_array(np.arange(20.0), None, sequence_length=i(3), batch_size=i(4))


def test_a_float_where_an_integer_belongs_names_the_integer_to_use():
    with pytest.raises(
        TypeError,
        match=r"batch_size must be a positive integer.*float64\(8\.0\) \(type numpy\.float64\)\. Use batch_size=8\.",
    ):
        _model().fit(X, Y, batch_size=np.float64(8), verbose=0)


def test_a_single_callback_is_accepted_as_keras_accepts_it():
    model = _model()
    stopper = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    history = model.fit(X, Y, epochs=5, verbose=0, callbacks=stopper)
    assert len(history.history["loss"]) == 2 and stopper.stopped_epoch == 1


# ---------------------------------------------------------------------------- leftovers of killed saves
_KILLED_MID_SAVE = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential
    from lstmkit.saving import writing

    model = Sequential([LSTM(8, input_shape=(4, 2)), Dense(1)])
    model.compile("adam", "mse")
    real = writing._write_array
    def die(handle, array):
        real(handle, array)
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    writing._write_array = die
    model.save(sys.argv[1])
""")


def test_the_next_save_removes_the_temporary_files_of_killed_saves(tmp_path):
    target = tmp_path / "ckpt.keras"
    leftovers = []
    for _ in range(2):
        result = run_python("-c", _KILLED_MID_SAVE, target, timeout=120)
        assert result.returncode == -signal.SIGKILL
        leftovers.append(sorted(p.name for p in tmp_path.iterdir()))
    # Each killed save left its temporary file; the second save removed the first one's.
    assert len(leftovers[0]) == 1 and len(leftovers[1]) == 1 and leftovers[0] != leftovers[1]
    assert leftovers[1][0].startswith(".ckpt.keras.") and leftovers[1][0].endswith(".tmp")
    (tmp_path / "other.keras.tmp").write_bytes(b"not ours")  # other files are never touched
    model = _model()
    model.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.keras", "other.keras.tmp"]
    load_model(target)
