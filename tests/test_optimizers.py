"""Each optimizer against a NumPy transcription of Keras 3's update formulas, over several steps."""

import math

import numpy as np
import pytest
import torch

from lstmkit import optimizers


def _numpy_steps(name, options, w, grads):
    """Apply Keras's update rule for ``name`` to w for each gradient in ``grads``; return the final w."""
    w = w.copy()
    state = {}
    lr = options.get("learning_rate", 0.001 if name != "sgd" else 0.01)
    for t, g in enumerate(grads, start=1):
        if options.get("decay"):
            lr_t = lr / (1 + options["decay"] * (t - 1))
        else:
            lr_t = lr
        if options.get("weight_decay"):
            w = w - w * options["weight_decay"] * lr_t
        if name == "sgd":
            mom = options.get("momentum", 0.0)
            if mom:
                m = state.get("m", np.zeros_like(w))
                m = mom * m - lr_t * g
                state["m"] = m
                w = w + (mom * m - lr_t * g if options.get("nesterov") else m)
            else:
                w = w - lr_t * g
        elif name in ("adam", "adamw"):
            b1, b2, eps = 0.9, 0.999, 1e-7
            m = state.get("m", np.zeros_like(w)) + (g - state.get("m", np.zeros_like(w))) * (1 - b1)
            v = state.get("v", np.zeros_like(w)) + (g * g - state.get("v", np.zeros_like(w))) * (1 - b2)
            state.update(m=m, v=v)
            alpha = lr_t * math.sqrt(1 - b2**t) / (1 - b1**t)
            w = w - alpha * m / (np.sqrt(v) + eps)
        elif name == "rmsprop":
            rho, mom, eps = 0.9, options.get("momentum", 0.0), 1e-7
            v = rho * state.get("v", np.zeros_like(w)) + (1 - rho) * g * g
            state["v"] = v
            denominator = v + eps
            if options.get("centered"):
                a = rho * state.get("a", np.zeros_like(w)) + (1 - rho) * g
                state["a"] = a
                denominator = v - a * a + eps
            increment = lr_t * g / np.sqrt(denominator)
            if mom:
                state["m"] = mom * state.get("m", np.zeros_like(w)) + increment
                w = w - state["m"]
            else:
                w = w - increment
        elif name == "adagrad":
            acc = state.get("acc", np.full_like(w, 0.1)) + g * g
            state["acc"] = acc
            w = w - lr_t * g / np.sqrt(acc + 1e-7)
        elif name == "adadelta":
            rho, eps = 0.95, 1e-7
            ag = rho * state.get("ag", np.zeros_like(w)) + (1 - rho) * g * g
            delta = -np.sqrt(state.get("ad", np.zeros_like(w)) + eps) / np.sqrt(ag + eps) * g
            state["ad"] = rho * state.get("ad", np.zeros_like(w)) + (1 - rho) * delta * delta
            state["ag"] = ag
            w = w + lr_t * delta
        elif name == "adamax":
            b1, b2, eps = 0.9, 0.999, 1e-7
            m = state.get("m", np.zeros_like(w)) + (g - state.get("m", np.zeros_like(w))) * (1 - b1)
            u = np.maximum(b2 * state.get("u", np.zeros_like(w)), np.abs(g))
            state.update(m=m, u=u)
            w = w - lr_t * m / ((1 - b1**t) * (u + eps))
        elif name == "nadam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            u_t = b1 * (1 - 0.5 * 0.96**t)
            u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
            product = state.get("product", 1.0) * u_t
            state["product"] = product
            m = state.get("m", np.zeros_like(w)) + (g - state.get("m", np.zeros_like(w))) * (1 - b1)
            v = state.get("v", np.zeros_like(w)) + (g * g - state.get("v", np.zeros_like(w))) * (1 - b2)
            state.update(m=m, v=v)
            m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
            v_hat = v / (1 - b2**t)
            w = w - lr_t * m_hat / (np.sqrt(v_hat) + eps)
        elif name == "lion":
            b1, b2 = 0.9, 0.99
            m = state.get("m", np.zeros_like(w))
            w = w - lr_t * np.sign(b1 * m + (1 - b1) * g)
            state["m"] = b2 * m + (1 - b2) * g
    return w


CASES = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.3}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"learning_rate": 0.1, "decay": 0.5}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("adamw", {"weight_decay": 0.004}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("adagrad", {}),
    ("adadelta", {"learning_rate": 1.0}),
    ("adamax", {}),
    ("nadam", {}),
    ("lion", {}),
]


@pytest.mark.parametrize("name,options", CASES)
def test_update_matches_keras_formula(name, options):
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(5)]
    cls = {
        "sgd": optimizers.SGD,
        "adam": optimizers.Adam,
        "adamw": optimizers.AdamW,
        "rmsprop": optimizers.RMSprop,
        "adagrad": optimizers.Adagrad,
        "adadelta": optimizers.Adadelta,
        "adamax": optimizers.Adamax,
        "nadam": optimizers.Nadam,
        "lion": optimizers.Lion,
    }[name]
    optimizer = cls(**options)
    param = torch.nn.Parameter(torch.tensor(w0))
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.apply([param])
    expected = _numpy_steps(name, options, w0, grads)
    np.testing.assert_allclose(param.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert optimizer.iterations == 5


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01 and optimizers.SGD().momentum == 0.0
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (0.001, 0.9, 0.0, 1e-7)
    assert optimizers.Adagrad().learning_rate == 0.001 and optimizers.Adadelta().rho == 0.95
    assert optimizers.AdamW().weight_decay == 0.004
    for name in ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw"]:
        assert isinstance(optimizers.get(name), optimizers.Optimizer)


def test_lr_alias_and_settable_learning_rate():
    optimizer = optimizers.SGD(lr=0.1, momentum=0.3)
    assert optimizer.learning_rate == pytest.approx(0.1) and optimizer.lr == pytest.approx(0.1)
    optimizer.learning_rate = 0.5
    assert optimizer.lr == 0.5
    with pytest.raises(ValueError, match="non-negative"):
        optimizer.learning_rate = -1


@pytest.mark.parametrize(
    "clip,expected",
    [
        ({"clipvalue": 0.5}, [0.5, -0.5, 0.25]),
        ({"clipnorm": 1.0}, np.array([3.0, -4.0, 0.25]) / np.linalg.norm([3.0, -4.0, 0.25])),
    ],
)
def test_gradient_clipping(clip, expected):
    param = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    param.grad = torch.tensor([3.0, -4.0, 0.25], dtype=torch.float64)
    optimizers.SGD(learning_rate=1.0, **clip).apply([param])
    np.testing.assert_allclose(-param.detach().numpy(), expected, rtol=1e-12)


def test_global_clipnorm_scales_all_gradients_together():
    a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    a.grad, b.grad = torch.tensor([3.0], dtype=torch.float64), torch.tensor([4.0], dtype=torch.float64)
    optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0).apply([a, b])
    np.testing.assert_allclose([-a.item(), -b.item()], [0.6, 0.8])


def test_learning_rate_schedule_is_followed():
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = optimizers.SGD(learning_rate=schedule)
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    for _ in range(3):
        param.grad = torch.ones(1, dtype=torch.float64)
        optimizer.apply([param])
    assert param.item() == pytest.approx(-(0.1 + 0.05 + 0.025))


def test_parameters_without_gradient_are_left_alone():
    used, unused = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    used.grad = torch.ones(2)
    optimizers.Adam(learning_rate=0.1).apply([used, unused])
    assert torch.equal(unused.detach(), torch.ones(2)) and not torch.equal(used.detach(), torch.ones(2))
