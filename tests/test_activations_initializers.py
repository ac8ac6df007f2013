"""Activations against NumPy formulas (Keras 3 definitions); initializers' distributions and options."""

import math

import numpy as np
import pytest
import torch

from lstmkit import activations, initializers
from lstmkit.layers import Dense

X = np.linspace(-6, 6, 49)

NUMPY = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2))),
    "exponential": np.exp,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
}


@pytest.mark.parametrize("name", sorted(NUMPY))
def test_activation_equals_numpy(name):
    got = activations.get(name)(torch.tensor(X, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, NUMPY[name](X), rtol=1e-7, atol=1e-12)


def test_softmax_is_over_the_last_axis_and_callables_pass_through():
    z = np.random.default_rng(0).normal(size=(3, 4))
    got = activations.get("softmax")(torch.tensor(z)).numpy()
    np.testing.assert_allclose(got, np.exp(z) / np.exp(z).sum(-1, keepdims=True))
    assert activations.get(None) is activations.linear and activations.get(torch.tanh) is torch.tanh
    layer = Dense(2, activation=lambda t: t * 2, kernel_initializer="ones")
    assert layer(torch.ones(1, 3)).tolist() == [[6.0, 6.0]]


@pytest.mark.parametrize(
    "name,limit_or_std,uniform",
    [
        ("glorot_uniform", math.sqrt(6 / (200 + 300)), True),
        ("he_uniform", math.sqrt(6 / 200), True),
        ("lecun_uniform", math.sqrt(3 / 200), True),
        ("glorot_normal", math.sqrt(2 / (200 + 300)), False),
        ("he_normal", math.sqrt(2 / 200), False),
    ],
)
def test_variance_scaling_initializers(name, limit_or_std, uniform):
    values = initializers.get(name)((200, 300)).numpy().astype("float64")
    if uniform:
        assert values.max() <= limit_or_std and values.min() >= -limit_or_std
        assert values.std() == pytest.approx(limit_or_std / math.sqrt(3), rel=0.02)
    else:  # truncated at two standard deviations of the untruncated normal, rescaled to keep the variance
        assert values.std() == pytest.approx(limit_or_std, rel=0.03)
        assert np.abs(values).max() <= 2 * limit_or_std / 0.87962566103423978 + 1e-6


def test_simple_initializers():
    assert initializers.get("zeros")((2, 2)).sum() == 0 and initializers.get("ones")((2, 2)).sum() == 4
    assert torch.all(initializers.Constant(0.5)((3,)) == 0.5)
    normal = initializers.RandomNormal(mean=1.0, stddev=0.1)((100, 100)).numpy()
    assert normal.mean() == pytest.approx(1.0, abs=0.005) and normal.std() == pytest.approx(0.1, rel=0.02)
    uniform = initializers.RandomUniform(-0.2, 0.2)((100, 100)).numpy()
    assert (
        uniform.min() >= -0.2
        and uniform.max() <= 0.2
        and uniform.std() == pytest.approx(0.4 / math.sqrt(12), rel=0.02)
    )


@pytest.mark.parametrize("shape", [(5, 20), (20, 5), (6, 6)])
def test_orthogonal(shape):
    q = initializers.Orthogonal(gain=2.0)(shape).numpy().astype("float64")
    small = q @ q.T if shape[0] <= shape[1] else q.T @ q
    np.testing.assert_allclose(small, 4.0 * np.eye(min(shape)), atol=1e-5)


def test_seeded_initializers_repeat_and_objects_are_accepted_by_layers():
    a = initializers.GlorotUniform(seed=3)((4, 4))
    assert torch.equal(a, initializers.GlorotUniform(seed=3)((4, 4)))
    layer = Dense(4, kernel_initializer=initializers.Constant(0.25), bias_initializer="ones")
    layer.ensure_built((None, 2))
    kernel, bias = layer.get_weights()
    assert np.all(kernel == 0.25) and np.all(bias == 1.0)
