"""LSTM and Dense against the NumPy reference, on both LSTM execution paths, plus gradcheck."""

import numpy as np
import pytest
import torch

from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential

from .reference import dense, lstm


def _random_weights(layer, rng, scale=0.5):
    layer.set_weights([rng.normal(scale=scale, size=w.shape) for w in layer.get_weights()])
    return layer.get_weights()


def _lstm(units, features, timesteps=None, **kwargs):
    layer = LSTM(units, **kwargs)
    layer.ensure_built((None, timesteps, features))
    return layer


@pytest.mark.parametrize(
    "activation,recurrent_activation,path",
    [
        ("tanh", "sigmoid", "fused"),
        ("relu", "sigmoid", "generic"),
        ("tanh", "hard_sigmoid", "generic"),
    ],
)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_forward_equals_numpy(
    rng, activation, recurrent_activation, path, return_sequences, go_backwards
):
    layer = _lstm(
        6,
        3,
        activation=activation,
        recurrent_activation=recurrent_activation,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
    )
    assert layer.execution_path() == path
    kernel, recurrent, bias = _random_weights(layer, rng)
    x = rng.normal(size=(5, 7, 3)).astype("float32")
    expected, _, _ = lstm(
        x.astype("float64"),
        kernel,
        recurrent,
        bias,
        activation,
        recurrent_activation,
        return_sequences,
        go_backwards,
    )
    got = layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lstm_return_state_and_initial_state(rng, activation):
    layer = _lstm(4, 2, activation=activation, return_state=True, return_sequences=True)
    kernel, recurrent, bias = _random_weights(layer, rng)
    x = rng.normal(size=(3, 5, 2))
    h0, c0 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    expected = lstm(x, kernel, recurrent, bias, activation, return_sequences=True, initial_state=(h0, c0))
    as_t = lambda a: torch.tensor(a, dtype=torch.float32)
    output, h, c = layer(as_t(x), initial_state=[as_t(h0), as_t(c0)])
    for got, want in zip((output, h, c), expected):
        np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-5)


def test_lstm_without_bias_and_keras_weight_layout(rng):
    layer = _lstm(3, 2, use_bias=False)
    assert [w.shape for w in layer.get_weights()] == [(2, 12), (3, 12)]
    assert layer.count_params() == 4 * 3 * (2 + 3)
    kernel, recurrent = _random_weights(layer, rng)
    x = rng.normal(size=(2, 4, 2))
    expected, _, _ = lstm(x, kernel, recurrent, None)
    np.testing.assert_allclose(
        layer(torch.tensor(x, dtype=torch.float32)).detach().numpy(), expected, atol=1e-5
    )


def test_lstm_default_initialization_matches_keras():
    layer = _lstm(8, 5)
    kernel, recurrent, bias = layer.get_weights()
    limit = np.sqrt(6.0 / (5 + 32))  # glorot_uniform over the Keras-layout (5, 32) kernel
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(8), atol=1e-5)  # orthogonal rows
    np.testing.assert_array_equal(
        bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)]
    )  # unit_forget_bias sets 1.0


@pytest.mark.parametrize("activation", [None, "relu", "softmax"])
def test_dense_equals_numpy_on_2d_and_3d_input(rng, activation):
    layer = Dense(4, activation=activation)
    layer.ensure_built((None, 3))
    kernel, bias = _random_weights(layer, rng)
    for shape in [(5, 3), (2, 6, 3)]:
        x = rng.normal(size=shape)
        z = x @ kernel + bias
        if activation == "softmax":
            expected = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        else:
            expected = dense(x, kernel, bias, activation or "linear")
        np.testing.assert_allclose(
            layer(torch.tensor(x, dtype=torch.float32)).detach().numpy(), expected, atol=1e-5
        )


def test_model_with_keras_weights_predicts_like_numpy(rng):
    model = Sequential([LSTM(5, input_shape=(4, 2), return_sequences=True), LSTM(3), Dense(1)])
    weights = [rng.normal(scale=0.4, size=w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    x = rng.normal(size=(6, 4, 2))
    seq, _, _ = lstm(x, *weights[0:3], return_sequences=True)
    last, _, _ = lstm(seq, *weights[3:6])
    np.testing.assert_allclose(model.predict(x, verbose=0), dense(last, *weights[6:8]), atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lstm_gradcheck_float64(activation):
    layer = LSTM(3, activation=activation, return_sequences=True, dtype="float64")
    layer.ensure_built((None, 4, 2))
    assert layer.execution_path() == ("fused" if activation == "tanh" else "generic")
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    assert all(w.dtype == torch.float64 for w in weights)

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x,))

    assert torch.autograd.gradcheck(run, (x,) + weights, eps=1e-6, atol=1e-5)


def test_dense_gradcheck_float64():
    layer = Dense(3, activation="tanh", dtype="float64")
    layer.ensure_built((None, 4))
    names = [n for n, _ in layer.named_parameters()]
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    assert torch.autograd.gradcheck(
        lambda x, *w: torch.func.functional_call(layer, dict(zip(names, w)), (x,)), (x,) + weights
    )
