"""Mixed precision with Keras's API: policies, what computes in which dtype, float32 weights, states and
losses, a float32 layer inside a mixed model, and float16 loss scaling."""

import numpy as np
import pytest
import torch

from lstmkit import mixed_precision
from lstmkit.layers import LSTM, Dense
from lstmkit.mixed_precision import LossScaleOptimizer, Policy
from lstmkit.models import Sequential
from lstmkit.optimizers import SGD, Adam
from lstmkit.utils import set_random_seed


@pytest.fixture(autouse=True)
def _float32_afterwards():
    yield
    mixed_precision.set_global_policy("float32")


def test_policies_name_their_compute_and_variable_dtypes():
    assert (Policy("mixed_bfloat16").compute_dtype, Policy("mixed_bfloat16").variable_dtype) == (
        "bfloat16",
        "float32",
    )
    assert (Policy("mixed_float16").compute_dtype, Policy("mixed_float16").variable_dtype) == (
        "float16",
        "float32",
    )
    assert Policy("float32").compute_dtype == Policy("float32").variable_dtype == "float32"
    with pytest.raises(ValueError, match="did you mean 'mixed_float16'"):
        Policy("mixed_floa16")
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert mixed_precision.global_policy() == Policy("mixed_bfloat16")


class DtypeRecorder(torch.overrides.TorchFunctionMode):
    """The dtypes of the results of every matrix product and of the fused LSTM kernel."""

    def __init__(self):
        super().__init__()
        self.products = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (torch.nn.functional.linear, torch.addmm, torch.matmul, torch.lstm):
            first = out[0] if isinstance(out, tuple) else out
            self.products.append(first.dtype)
        return out


@pytest.mark.parametrize("activation", ["tanh", "relu"])  # the fused kernel and the step loop
def test_mixed_bfloat16_computes_products_in_bfloat16_with_float32_weights_states_and_loss(activation, rng):
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = Sequential([LSTM(6, activation=activation, return_state=False, input_shape=(5, 3)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(16, 5, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    recorder = DtypeRecorder()
    with recorder:
        pred = model(torch.from_numpy(x))
    assert recorder.products and set(recorder.products) == {torch.bfloat16}
    assert pred.dtype == torch.float32  # what losses and users see
    assert all(w.dtype == np.float32 for w in model.get_weights())
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the same model in float32 predicts the same to bfloat16 precision (8 bits of mantissa)
    mixed_precision.set_global_policy("float32")
    plain = Sequential([LSTM(6, activation=activation, input_shape=(5, 3)), Dense(1)])
    plain.build((None, 5, 3))
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), plain.predict(x, verbose=0), atol=3e-2, rtol=3e-2)


def test_recurrent_states_are_float32(rng):
    layer = LSTM(4, return_state=True, return_sequences=True, activation="relu", dtype="mixed_bfloat16")
    _, h, c = layer(torch.from_numpy(rng.normal(size=(2, 3, 2)).astype("float32")))
    assert h.dtype == c.dtype == torch.float32


def test_a_float32_layer_inside_a_mixed_model_computes_in_float32(rng):
    mixed_precision.set_global_policy("mixed_bfloat16")
    last = Dense(1, dtype="float32")
    model = Sequential([LSTM(4, input_shape=(3, 2)), Dense(5), last])
    recorder = DtypeRecorder()
    with recorder:
        model(torch.from_numpy(rng.normal(size=(2, 3, 2)).astype("float32")))
    assert recorder.products[-1] == torch.float32 and recorder.products[-2] == torch.bfloat16
    assert last.get_config()["dtype"] == "float32"
    assert model.layers[1].get_config()["dtype"] == "mixed_bfloat16"
    assert Dense.from_config(model.layers[1].get_config())._dtype_policy == Policy("mixed_bfloat16")


def test_mixed_float16_compile_wraps_the_optimizer_in_loss_scaling():
    mixed_precision.set_global_policy("mixed_float16")
    model = Sequential([LSTM(3, input_shape=(2, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, Adam)


def _params(value):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    p.grad = torch.tensor(value)
    return p


def test_loss_scaling_unscales_skips_overflows_and_grows():
    """Against hand-computed values: SGD(lr=0.5) on gradients scaled by the loss scale."""
    optimizer = LossScaleOptimizer(SGD(learning_rate=0.5), initial_scale=8.0, dynamic_growth_steps=2)
    assert float(optimizer.scale_loss(torch.tensor(3.0))) == 24.0
    p = _params([8.0, -16.0])  # the gradient [1, -2] of a loss scaled by 8
    optimizer.apply([p])
    np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.5 * 1.0, -2.0 + 0.5 * 2.0])
    assert optimizer.scale == 8.0 and optimizer.iterations == 1
    p.grad = torch.tensor([float("inf"), 1.0])  # an overflow: skipped, scale halved
    before = p.detach().clone()
    optimizer.apply([p])
    assert torch.equal(p.detach(), before) and optimizer.scale == 4.0 and optimizer.iterations == 1
    for _ in range(2):  # two good steps in a row: the scale doubles
        p.grad = torch.tensor([4.0, 4.0])
        optimizer.apply([p])
    assert optimizer.scale == 8.0 and optimizer.iterations == 3


def test_training_with_loss_scaling_equals_training_without(rng):
    """In float32 a power-of-two scale is exact: the same weights as the plain optimizer."""
    x, y = rng.normal(size=(12, 4, 2)).astype("float32"), rng.normal(size=(12, 1)).astype("float32")
    weights = []
    for optimizer in (Adam(), LossScaleOptimizer(Adam(), initial_scale=2.0**10)):
        set_random_seed(5)
        model = Sequential([LSTM(3, input_shape=(4, 2)), Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
