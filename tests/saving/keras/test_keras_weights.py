"""Keras weights files (``save_weights`` of Keras 1 to 3, CuDNNLSTM-era files) load into models built in code."""

import sys

import numpy as np
import pytest

from lstmkit.layers import GRU, LSTM, Bidirectional, Dense, Input, TimeDistributed
from lstmkit.models import Sequential, load_model
from lstmkit.saving import ModelFileError

from .helpers import FIXTURES, fixture, reference

TOLERANCE = 1e-5


def lstm_model():
    return Sequential([Input((5, 3)), LSTM(4), Dense(1)])


@pytest.mark.parametrize(
    ("filename", "flavour"),
    [
        ("lstm.k3.weights.h5", "k3"),  # Keras 3 save_weights: object paths, optimizer included
        ("lstm.tfk2.weights.h5", "tfk2"),  # tf.keras 2.13+ save_weights to *.weights.h5: object paths too
        ("lstm_weights.tfk2.h5", "tfk2"),  # tf.keras 2 save_weights to *.h5: by layer
        ("lstm.keras", "k3"),  # the weights of whole-model files
        ("lstm.k3.h5", "k3"),
        ("lstm.tfk2.h5", "tfk2"),
    ],
)
def test_weights_files_of_every_layout(filename, flavour):
    x, ref = reference("lstm", flavour)
    model = lstm_model()
    model.load_weights(FIXTURES / filename)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def test_a_compiled_model_also_takes_the_optimizer_state_of_a_keras3_weights_file():
    """As Keras 3's load_weights does: then one more step equals Keras's."""
    x, ref = reference("lstm", "k3")
    model = lstm_model()
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.learning_rate = 0.01
    model.load_weights(FIXTURES / "lstm.k3.weights.h5")
    assert model.optimizer.iterations == 3
    model.train_on_batch(x, ref["y"])
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["after_step"], atol=TOLERANCE, rtol=0)


def test_wrapped_layers_by_position_and_by_name():
    x, ref = reference("bidirectional", "tfk2")

    def build(names):
        return Sequential(
            [
                Input((5, 3)),
                Bidirectional(LSTM(3, return_sequences=True), name=names[0]),
                TimeDistributed(Dense(2), name=names[1]),
                Bidirectional(GRU(2), merge_mode="sum", name=names[2]),
                Dense(1, name=names[3]),
            ]
        )

    model = build(["a", "b", "c", "d"])
    model.load_weights(FIXTURES / "bidirectional_weights.tfk2.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    # by_name: the file's layer names are Keras's automatic ones (bidi was named by the user).
    named = build(["bidi", "time_distributed", "bidirectional", "dense_4"])
    named.load_weights(FIXTURES / "bidirectional_weights.tfk2.h5", by_name=True)
    np.testing.assert_allclose(named.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    # A layer the file has no weights for keeps its own, as in Keras, but not silently.
    partly = build(["bidi", "time_distributed", "bidirectional", "head"])
    head = partly.layers[-1].get_weights()
    with pytest.warns(UserWarning, match=r"no weights for layer\(s\) \['head'\].*keep their current weights"):
        partly.load_weights(FIXTURES / "bidirectional_weights.tfk2.h5", by_name=True)
    np.testing.assert_array_equal(partly.layers[-1].get_weights()[0], head[0])
    np.testing.assert_array_equal(partly.layers[0].get_weights()[0], named.layers[0].get_weights()[0])


def cudnn_model(reset_after=True):
    return Sequential(
        [Input((5, 3)), LSTM(4, return_sequences=True), GRU(3, reset_after=reset_after), Dense(1)]
    )


def test_cudnn_weights_become_lstm_and_gru_weights():
    """CuDNNLSTM + CuDNNGRU weights written by tf.keras 2; the expected outputs are tf.keras 2's own
    LSTM / GRU(reset_after=True) with those weights converted by tf.keras."""
    x, ref = reference("cudnn", "tfk2")
    model = cudnn_model()
    model.load_weights(FIXTURES / "cudnn_weights.tfk2.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    lstm_bias = model.layers[0].get_weights()[2]
    assert lstm_bias.shape == (16,)  # the cuDNN file's (32,) bias, input and recurrent halves summed


def test_a_cudnn_model_file_opens_as_lstm_and_gru():
    x, ref = reference("cudnn", "tfk2")
    model = load_model(FIXTURES / "cudnn.tfk2.h5")
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "GRU", "Dense"]
    assert model.layers[1].cell.reset_after
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def test_cudnn_gru_weights_need_reset_after():
    model = cudnn_model(reset_after=False)
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=r"cudnn_weights.*CuDNNGRU weights.*reset_after=True"):
        model.load_weights(FIXTURES / "cudnn_weights.tfk2.h5")
    for old, new in zip(before, model.get_weights()):  # nothing was changed by the failed load
        np.testing.assert_array_equal(old, new)


def test_keras1_weights_are_reordered():
    """A Keras 1 file (LSTM in 12 arrays, gates i, c, f, o; GRU in 9); expected outputs from tf.keras 2,
    which converts such files itself."""
    ref = np.load(FIXTURES / "keras1.npz")
    model = Sequential([Input((4, 2)), LSTM(3, return_sequences=True), GRU(2, reset_after=False), Dense(1)])
    model.load_weights(FIXTURES / "keras1_weights.h5")
    np.testing.assert_allclose(model.predict(ref["x0"], verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def test_weights_that_do_not_fit_name_the_layer_and_change_nothing():
    model = Sequential([Input((5, 3)), LSTM(5), Dense(1)])
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=r"lstm\.keras.*layer '.*' \(LSTM\).*\(3, 16\)"):
        model.load_weights(fixture("lstm", "keras"))
    with pytest.raises(ModelFileError, match=r"lstm_weights\.tfk2\.h5.*\(3, 16\)"):
        model.load_weights(FIXTURES / "lstm_weights.tfk2.h5")
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    extra = Sequential([Input((5, 3)), LSTM(4), Dense(4), Dense(1)])
    with pytest.raises(ModelFileError, match=r"weights for 2 layer\(s\).*3 layer\(s\).*by_name=True"):
        extra.load_weights(FIXTURES / "lstm_weights.tfk2.h5")
    with pytest.raises(ModelFileError, match=r"layers/dense_1.*missing.*same architecture"):
        extra.load_weights(FIXTURES / "lstm.k3.weights.h5")


def test_skip_mismatch_warns_and_loads_the_rest():
    model = Sequential([Input((5, 3)), LSTM(4), Dense(2)])
    with pytest.warns(UserWarning, match="Skipped"):
        model.load_weights(FIXTURES / "lstm_weights.tfk2.h5", skip_mismatch=True)
    reference_model = lstm_model()
    reference_model.load_weights(FIXTURES / "lstm_weights.tfk2.h5")
    for mine, theirs in zip(model.layers[0].get_weights(), reference_model.layers[0].get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_an_unbuilt_model_must_be_built_first():
    model = Sequential([LSTM(4), Dense(1)])
    with pytest.raises(ValueError, match=r"not built yet.*model\.build"):
        model.load_weights(FIXTURES / "lstm_weights.tfk2.h5")
    model.load_weights(fixture("lstm", "keras"))  # a .keras file records the input shape
    x, ref = reference("lstm", "k3")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def test_a_weights_file_is_not_a_model():
    with pytest.raises(ModelFileError, match=r"holds only weights.*load_weights"):
        load_model(FIXTURES / "lstm_weights.tfk2.h5")


def test_without_h5py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"h5py.*pip install 'lstmkit\[keras\]'"):
        load_model(fixture("lstm", "tfk2.h5"))
    with pytest.raises(ImportError, match=r"lstmkit\[keras\]"):
        lstm_model().load_weights(fixture("lstm", "keras"))


def test_cudnn_weights_into_lstmkit_cudnn_layers():
    from lstmkit.layers import CuDNNGRU, CuDNNLSTM

    x, ref = reference("cudnn", "tfk2")
    model = Sequential([Input((5, 3)), CuDNNLSTM(4, return_sequences=True), CuDNNGRU(3), Dense(1)])
    model.load_weights(FIXTURES / "cudnn_weights.tfk2.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
