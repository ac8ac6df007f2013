"""Models used by the saving tests. To cover a new layer class, add a stack to MODEL_CASES: every
round-trip test (save/load in each format, weights only, JSON + weights, get/set_weights, continued
training) runs on it. A stack whose layers do not exist yet is skipped, not failed."""

import numpy as np
import pytest

import lstmkit
from lstmkit.models import Sequential

TIMESTEPS, FEATURES, OUTPUTS = 5, 3, 2


def _layers(*names):
    missing = [n for n in names if not hasattr(lstmkit.layers, n)]
    return pytest.mark.skipif(bool(missing), reason=f"layers not available yet: {missing}")


def _stack(build):
    """A factory of compiled models; ``build(L)`` returns the layers, L being lstmkit.layers."""

    def make():
        return Sequential(build(lstmkit.layers))

    return make


MODEL_CASES = [
    pytest.param(
        _stack(lambda L: [L.LSTM(6, input_shape=(TIMESTEPS, FEATURES)), L.Dense(OUTPUTS)]), id="lstm-fused"
    ),
    pytest.param(
        _stack(
            lambda L: [
                L.LSTM(5, activation="relu", return_sequences=True, input_shape=(TIMESTEPS, FEATURES)),
                L.LSTM(4, recurrent_activation="hard_sigmoid", use_bias=False),
                L.Dense(OUTPUTS),
                L.Activation("tanh"),
            ]
        ),
        id="lstm-generic-stack",
    ),
    pytest.param(
        _stack(
            lambda L: [
                L.Dense(4, activation="relu", input_shape=(TIMESTEPS, FEATURES)),
                L.Activation("sigmoid"),
                L.LSTM(3),
                L.Dense(OUTPUTS, use_bias=False),
            ]
        ),
        id="dense-activation-lstm",
    ),
    # The acceptance stack.
    pytest.param(
        _stack(
            lambda L: [
                L.Bidirectional(L.LSTM(4, return_sequences=True), input_shape=(TIMESTEPS, FEATURES)),
                L.GRU(4, return_sequences=True),
                L.TimeDistributed(L.Dense(3)),
                L.SimpleRNN(3),
                L.Dense(OUTPUTS),
            ]
        ),
        id="bidirectional-gru-timedistributed-simplernn",
        marks=_layers("Bidirectional", "GRU", "TimeDistributed", "SimpleRNN"),
    ),
    pytest.param(
        _stack(
            lambda L: [
                L.ZeroPadding1D((1, 2), input_shape=(TIMESTEPS, FEATURES)),
                L.Cropping1D((2, 1)),
                L.UpSampling1D(2),
                L.PReLU(shared_axes=[1], alpha_initializer="constant"),
                L.LeakyReLU(),
                L.ELU(alpha=0.5),
                L.ReLU(max_value=6.0),
                L.ActivityRegularization(l2=1e-3),
                L.Identity(),
                L.CuDNNGRU(4, return_sequences=True),
                L.CuDNNLSTM(3),
                L.Dense(OUTPUTS),
                L.Softmax(),
            ]
        ),
        id="small-layers-cudnn",
        marks=_layers("PReLU", "UpSampling1D", "ActivityRegularization", "CuDNNGRU", "CuDNNLSTM", "Softmax"),
    ),
    pytest.param(
        _stack(
            lambda L: [
                L.Reshape((TIMESTEPS, FEATURES, 1, 1), input_shape=(TIMESTEPS, FEATURES)),
                L.TimeDistributed(L.Conv2D(2, (2, 1), padding="same", activation="relu")),
                L.TimeDistributed(L.MaxPooling2D((2, 1), padding="same")),
                L.ConvLSTM2D(2, (2, 1), padding="same", return_sequences=True),
                L.TimeDistributed(L.AveragePooling2D((1, 1))),
                L.ConvLSTM2D(2, (2, 1), padding="same"),
                L.GlobalAveragePooling2D(),
                L.Dense(OUTPUTS),
            ]
        ),
        id="frames-conv2d-convlstm2d",
        marks=_layers("Conv2D", "MaxPooling2D", "ConvLSTM2D", "GlobalAveragePooling2D"),
    ),
    pytest.param(
        _stack(
            lambda L: [
                L.Reshape((TIMESTEPS, FEATURES, 1), input_shape=(TIMESTEPS, FEATURES)),
                L.ConvLSTM1D(3, 2, padding="same", return_sequences=True),
                L.TimeDistributed(L.GlobalMaxPooling1D()),
                L.Flatten(),
                L.Dense(OUTPUTS),
            ]
        ),
        id="convlstm1d",
        marks=_layers("ConvLSTM1D"),
    ),
]


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, TIMESTEPS, FEATURES)).astype("float32")
    y = np.stack([x[:, :, 0].mean(axis=1), x[:, -1, 1]], axis=1).astype("float32")
    return x, y
