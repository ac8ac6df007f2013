"""TimeDistributed: per-timestep application against NumPy, a CNN-LSTM-shaped stack, masks, BatchNormalization's
per-timestep statistics, gradcheck, nested configs and errors."""

import numpy as np
import pytest
import torch

from lstmkit.layers import (
    BatchNormalization,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    InputShapeError,
    MaxPooling1D,
    TimeDistributed,
    deserialize,
    serialize,
)
from lstmkit.layers.wrappers import TimeDistributed as TimeDistributedFromWrappers
from lstmkit.models import Sequential

from .layer_checks import gradcheck_layer, round_trip
from .sequence_reference import conv1d, pool1d


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


def _built(layer, shape):
    layer.ensure_built((None,) + tuple(shape[1:]))
    return layer


def test_time_distributed_dense_equals_numpy(rng):
    x = rng.normal(size=(2, 5, 3))
    layer = _built(TimeDistributed(Dense(4, activation="tanh")), x.shape)
    kernel, bias = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), np.tanh(x @ kernel + bias), atol=1e-5)
    assert [w.shape for w in layer.get_weights()] == [(3, 4), (4,)] and layer.count_params() == 3 * 4 + 4
    assert layer.weights[0].name == f"{layer.layer.name}/kernel"  # the inner layer's weights
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 4)
    assert TimeDistributedFromWrappers is TimeDistributed


def test_time_distributed_conv_pool_flatten_on_4d_input_equals_numpy(rng):
    x = rng.normal(size=(2, 3, 8, 2))  # (batch, subsequences, steps, channels)
    conv = _built(TimeDistributed(Conv1D(4, 3, padding="same", activation="relu")), x.shape)
    kernel, bias = [rng.normal(size=w.shape) for w in conv.get_weights()]
    conv.set_weights([kernel, bias])
    expected = np.stack(
        [np.maximum(conv1d(x[:, t], kernel, bias, padding="same"), 0) for t in range(3)], axis=1
    )
    got = conv(_t(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    pooled = TimeDistributed(MaxPooling1D(2))(_t(got)).detach().numpy()
    np.testing.assert_allclose(
        pooled, np.stack([pool1d(expected[:, t], 2) for t in range(3)], axis=1), atol=1e-6
    )
    flat = TimeDistributed(Flatten())(_t(pooled)).detach().numpy()
    np.testing.assert_allclose(flat, pooled.reshape(2, 3, -1), atol=0)


def test_cnn_lstm_shaped_stack_builds_by_shape_inference(rng, capsys):
    model = Sequential(
        [
            TimeDistributed(Conv1D(8, 2, activation="relu"), input_shape=(None, 4, 1)),
            TimeDistributed(MaxPooling1D(pool_size=2)),
            TimeDistributed(Flatten()),
            TimeDistributed(Dense(1)),
        ]
    )
    assert model.built
    assert [layer.output_shape for layer in model.layers] == [
        (None, None, 3, 8),
        (None, None, 1, 8),
        (None, None, 8),
        (None, None, 1),
    ]
    model.summary()
    out = capsys.readouterr().out
    for shape in ("(None, None, 3, 8)", "(None, None, 1, 8)", "(None, None, 8)", "(None, None, 1)"):
        assert shape in out
    assert model.count_params() == (2 * 1 * 8 + 8) + (
        8 * 1 + 1
    )  # Conv1D k*in*filters+filters, Dense in*units+units
    assert f"Total params: {model.count_params()}" in out
    # The whole stack against NumPy, on 5 subsequences of 4 steps.
    x = rng.normal(size=(3, 5, 4, 1))
    kernel, bias, dense_kernel, dense_bias = model.get_weights()
    per_step = [
        pool1d(np.maximum(conv1d(x[:, t], kernel, bias), 0), 2).reshape(3, -1) @ dense_kernel + dense_bias
        for t in range(5)
    ]
    np.testing.assert_allclose(model.predict(x, verbose=0), np.stack(per_step, axis=1), atol=1e-5)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, rng.normal(size=(3, 5, 1)), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_time_distributed_passes_the_mask_through():
    model = Sequential([Embedding(10, 3, mask_zero=True), TimeDistributed(Dense(2))])
    ids = torch.tensor([[1, 2, 0], [4, 0, 0]])
    out = model(ids)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids.numpy() != 0)
    assert model.layers[1].compute_mask(out, ids != 0) is not None


def test_time_distributed_embedding_takes_integer_ids(rng):
    layer = TimeDistributed(Embedding(6, 2))
    assert layer.input_dtype == "int"
    model = Sequential([layer])
    ids = rng.integers(0, 6, size=(2, 3, 4))
    got = model.predict(ids, verbose=0)
    (table,) = model.get_weights()
    assert table.shape == (6, 2) and got.shape == (2, 3, 4, 2)
    np.testing.assert_allclose(got, table[ids], atol=1e-7)


def test_time_distributed_batch_norm_uses_per_timestep_statistics_in_training(rng):
    x = rng.normal(loc=1.0, size=(6, 3, 4))
    layer = _built(TimeDistributed(BatchNormalization(momentum=0.5)), x.shape)
    layer.train()
    got = layer(_t(x)).detach().numpy()
    mean, var = (
        x.mean(axis=0),
        x.var(axis=0),
    )  # (timesteps, features): each timestep on its own (Keras's loop)
    np.testing.assert_allclose(got, (x - mean) / np.sqrt(var + 1e-3), atol=1e-4)
    moving_mean = np.zeros(4)
    for t in range(3):  # one moving update per timestep
        moving_mean = moving_mean * 0.5 + mean[t] * 0.5
    np.testing.assert_allclose(layer.get_weights()[2], moving_mean, atol=1e-5)
    layer.eval()
    gamma, beta, mm, mv = layer.get_weights()
    np.testing.assert_allclose(
        layer(_t(x)).detach().numpy(), (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta, atol=1e-5
    )


@pytest.mark.parametrize(
    "inner,shape",
    [
        (lambda: Conv1D(2, 2, padding="causal", dtype="float64"), (2, 3, 5, 2)),
        (lambda: Dense(3, activation="sigmoid", dtype="float64"), (2, 4, 3)),
    ],
)
def test_time_distributed_gradcheck_float64(inner, shape):
    layer = _built(TimeDistributed(inner()), shape)
    assert gradcheck_layer(layer, torch.randn(*shape, dtype=torch.float64))


def test_time_distributed_config_round_trip(rng):
    layer = _built(
        TimeDistributed(Conv1D(3, 2, activation="relu", name="inner_conv"), name="td_rt"), (None, 4, 6, 2)
    )
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Conv1D" and config["layer"]["config"]["filters"] == 3
    clone = round_trip(layer, _t(rng.normal(size=(2, 4, 6, 2))), rng)
    assert isinstance(clone.layer, Conv1D) and clone.layer is not layer.layer
    rebuilt = deserialize(serialize(layer))
    assert isinstance(rebuilt, TimeDistributed) and rebuilt.get_config() == config


def test_time_distributed_trainable_flag_reaches_the_inner_layer():
    frozen = _built(TimeDistributed(Dense(2), trainable=False), (None, 3, 4))
    assert frozen.layer.trainable is False and frozen.trainable_weights == []
    layer = _built(TimeDistributed(Dense(2)), (None, 3, 4))
    layer.trainable = False
    assert not any(p.requires_grad for p in layer.parameters())


def test_time_distributed_errors():
    with pytest.raises(
        TypeError,
        match=r"needs a layer instance.*Received the class itself: call it, e\.g\. "
        r"TimeDistributed\(Dense\(\.\.\.\)\)",
    ):
        TimeDistributed(Dense)
    with pytest.raises(TypeError, match="needs a layer instance, e.g. TimeDistributed"):
        TimeDistributed(torch.nn.Linear(2, 2))
    with pytest.raises(
        InputShapeError, match=r"at least 3 dimensions \(batch, timesteps, \.\.\.\); received a 2-D input"
    ):
        Sequential([TimeDistributed(Dense(1), input_shape=(4,))])
    with pytest.raises(InputShapeError) as info:
        Sequential([TimeDistributed(Conv1D(2, 2), input_shape=(5, 3))])
    message = str(info.value)
    assert "expects 3-D input" in message and "one timestep at a time" in message
    assert "(None, 5, 3) becomes (None, 3) per timestep" in message
