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
]


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, TIMESTEPS, FEATURES)).astype("float32")
    y = np.stack([x[:, :, 0].mean(axis=1), x[:, -1, 1]], axis=1).astype("float32")
    return x, y
