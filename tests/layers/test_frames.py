"""Conv2D and the 2-D pooling layers against NumPy loops, gradcheck, TimeDistributed over frame sequences,
errors, and a CNN-LSTM that learns the direction of a moving dot."""

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.layers import (
    LSTM,
    AveragePooling2D,
    AvgPool2D,
    Conv2D,
    Conv3D,
    Convolution2D,
    Convolution3D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    InputShapeError,
    MaxPool2D,
    MaxPooling2D,
    TimeDistributed,
)
from lstmkit.layers.convolutional import Conv2D as Conv2DFromKeras2Path
from lstmkit.layers.pooling import MaxPooling2D as MaxPooling2DFromKeras2Path
from lstmkit.models import Sequential

from .frames_reference import conv, pool2d
from .layer_checks import gradcheck_layer, round_trip


def _built(layer, shape):
    layer.ensure_built((None,) + tuple(shape[1:]))
    return layer


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


# ---------------------------------------------------------------------------- Conv2D
CONV_CASES = [  # (padding, strides, dilation_rate, kernel_size)
    ("valid", 1, 1, 3),
    ("valid", (2, 1), 1, (3, 2)),
    ("valid", 1, (2, 1), 2),
    ("same", 1, 1, 3),
    ("same", 1, 1, (2, 4)),  # even kernels: the extra padded row/column goes at the end
    ("same", 2, 1, 3),
    ("same", (3, 2), 1, (2, 3)),
    ("same", 1, 2, 3),
]


@pytest.mark.parametrize("rows,cols", [(7, 6), (8, 5)])
@pytest.mark.parametrize("padding,strides,dilation,kernel_size", CONV_CASES)
def test_conv2d_equals_numpy(rng, rows, cols, padding, strides, dilation, kernel_size):
    x = rng.normal(size=(2, rows, cols, 3))
    layer = _built(
        Conv2D(4, kernel_size, strides=strides, padding=padding, dilation_rate=dilation, activation="tanh"),
        x.shape,
    )
    kernel, bias = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights([kernel, bias])
    expected = np.tanh(conv(x, kernel, bias, strides, padding, dilation))
    got = layer(_t(x)).detach().numpy()
    assert got.shape == expected.shape
    assert layer.compute_output_shape((None, rows, cols, 3)) == (None,) + expected.shape[1:]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_conv2d_groups_channels_first_and_layout(rng):
    x = rng.normal(size=(2, 5, 6, 4))
    layer = _built(Conv2D(6, (2, 3), groups=2, use_bias=False), x.shape)
    (kernel,) = layer.get_weights()
    assert kernel.shape == (2, 3, 2, 6)  # (rows, cols, channels // groups, filters)
    kernel = rng.normal(size=kernel.shape)
    layer.set_weights([kernel])
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), conv(x, kernel, groups=2), atol=1e-5)
    first = _built(Conv2D(6, (2, 3), groups=2, use_bias=False, data_format="channels_first"), (2, 4, 5, 6))
    first.set_weights([kernel])
    got = first(_t(x.transpose(0, 3, 1, 2))).detach().numpy()
    np.testing.assert_allclose(got, conv(x, kernel, groups=2).transpose(0, 3, 1, 2), atol=1e-5)
    assert first.compute_output_shape((None, 4, 5, 6)) == (None, 6, 4, 4)


def test_conv2d_hand_computed_same_padding():
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # 1 2 3 / 4 5 6 / 7 8 9
    layer = _built(Conv2D(1, 2, padding="same", kernel_initializer="ones"), x.shape)
    # Each output sums its 2x2 window starting at its own position (padding after, TensorFlow's rule).
    expected = [[12, 16, 9], [24, 28, 15], [15, 17, 9]]
    np.testing.assert_allclose(layer(_t(x)).detach().numpy()[0, :, :, 0], expected)


def test_conv2d_gradcheck(rng):
    torch.manual_seed(0)
    layer = Conv2D(3, (2, 3), strides=(2, 1), padding="same", activation="tanh", dtype="float64")
    x = torch.tensor(rng.normal(size=(2, 5, 4, 2)))
    layer.ensure_built((None, 5, 4, 2))
    assert gradcheck_layer(layer, x)


def test_conv2d_config_round_trip_and_aliases(rng):
    layer = Conv2D(3, 2, strides=(1, 2), padding="SAME", dilation_rate=1, activation="relu", name="c")
    x = _t(rng.normal(size=(2, 6, 6, 2)))
    layer.ensure_built((None, 6, 6, 2))
    clone = round_trip(layer, x, rng)
    assert clone.get_config()["kernel_size"] == (2, 2) and clone.padding == "same"
    assert Convolution2D is Conv2D is Conv2DFromKeras2Path
    assert MaxPool2D is MaxPooling2D is MaxPooling2DFromKeras2Path and AvgPool2D is AveragePooling2D


# ---------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "pool_size,strides,padding",
    [
        ((2, 2), None, "valid"),
        ((3, 2), (2, 1), "valid"),
        ((2, 2), None, "same"),
        ((3, 3), (2, 2), "same"),
        ((2, 3), (1, 2), "same"),
    ],
)
def test_pooling2d_equals_numpy(rng, mode, pool_size, strides, padding):
    x = rng.normal(size=(2, 7, 6, 3))
    cls = MaxPooling2D if mode == "max" else AveragePooling2D
    layer = _built(cls(pool_size, strides=strides, padding=padding), x.shape)
    expected = pool2d(x, pool_size, strides, padding, mode)
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, rtol=0, atol=1e-6)
    assert layer.compute_output_shape((None, 7, 6, 3)) == (None,) + expected.shape[1:]
    round_trip(layer, _t(x))


def test_global_pooling2d(rng):
    x = rng.normal(size=(2, 4, 5, 3))
    np.testing.assert_allclose(GlobalMaxPooling2D()(_t(x)).numpy(), x.max(axis=(1, 2)), atol=1e-6)
    np.testing.assert_allclose(GlobalAveragePooling2D()(_t(x)).numpy(), x.mean(axis=(1, 2)), atol=1e-6)
    keep = GlobalAveragePooling2D(keepdims=True, data_format="channels_first")
    got = keep(_t(x.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(got, x.mean(axis=(1, 2)).reshape(2, 3, 1, 1), atol=1e-6)
    assert keep.compute_output_shape((None, 3, 4, 5)) == (None, 3, 1, 1)
    assert GlobalMaxPooling2D().compute_output_shape((None, 4, 5, 3)) == (None, 3)


# ---------------------------------------------------------------------------- TimeDistributed over frames
def test_time_distributed_conv2d_over_frame_sequences(rng):
    frames = rng.normal(size=(2, 3, 6, 5, 2))  # (samples, frames, rows, cols, channels)
    conv_layer = Conv2D(4, 3, padding="same")
    wrapped = TimeDistributed(conv_layer)
    wrapped.ensure_built((None,) + frames.shape[1:])
    kernel, bias = [rng.normal(size=w.shape) for w in wrapped.get_weights()]
    wrapped.set_weights([kernel, bias])
    got = wrapped(_t(frames)).detach().numpy()
    expected = np.stack([conv(frames[:, t], kernel, bias, 1, "same") for t in range(3)], axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert wrapped.compute_output_shape((None, 3, 6, 5, 2)) == (None, 3, 6, 5, 4)
    pooled = TimeDistributed(MaxPooling2D())
    assert pooled.compute_output_shape((None, 3, 6, 5, 4)) == (None, 3, 3, 2, 4)
    flat = TimeDistributed(Flatten())
    assert flat(pooled(_t(got))).shape == (2, 3, 3 * 2 * 4)


def test_cnn_lstm_summary_counts_like_keras():
    model = Sequential(
        [
            TimeDistributed(Conv2D(8, 3, activation="relu"), input_shape=(5, 8, 8, 1)),
            TimeDistributed(MaxPooling2D()),
            TimeDistributed(Flatten()),
            LSTM(16),
            Dense(4, activation="softmax"),
        ]
    )
    model.build()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Keras: Conv2D 3*3*1*8 + 8 = 80; LSTM 4*16*(72 + 16) + 4*16 = 5696; Dense 16*4 + 4 = 68.
    assert "(None, 5, 6, 6, 8)" in text and "(None, 5, 72)" in text
    assert [layer.count_params() for layer in model.layers] == [80, 0, 0, 5696, 68]
    assert "5,844" in text


# ---------------------------------------------------------------------------- errors
def test_conv2d_errors_teach():
    with pytest.raises(
        ValueError, match="padding must be one of 'valid', 'same'. Received: padding='causal'"
    ):
        Conv2D(2, 3, padding="causal")
    with pytest.raises(
        ValueError, match=r"kernel_size must be one positive integer or a tuple of 2. Received"
    ):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="strides > 1 cannot be combined with dilation_rate > 1"):
        Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="pool_size must be a positive integer"):
        MaxPooling2D(0)
    with pytest.raises(InputShapeError, match=r"expects 4-D input .*5-D.*TimeDistributed\(Conv2D\(...\)\)"):
        Conv2D(2, 3)(torch.zeros(2, 3, 6, 6, 1))
    with pytest.raises(InputShapeError, match=r"add one: x = x\[..., None\].*input_shape=\(6, 6, 1\)"):
        Conv2D(2, 3)(torch.zeros(2, 6, 6))
    with pytest.raises(InputShapeError, match=r"padding='valid' leaves no output"):
        Conv2D(2, 5)(torch.zeros(2, 4, 6, 1))
    with pytest.raises(InputShapeError, match="built for inputs with 1 channels"):
        layer = Conv2D(2, 3)
        layer(torch.zeros(2, 6, 6, 1))
        layer(torch.zeros(2, 6, 6, 3))
    with pytest.raises(InputShapeError, match=r"expects 4-D input .*TimeDistributed\(MaxPooling2D"):
        MaxPooling2D()(torch.zeros(2, 3, 6, 6, 1))


# ---------------------------------------------------------------------------- training
_MOVES = np.array([(0, 1), (0, -1), (1, 0), (-1, 0)])  # right, left, down, up


def moving_dot(n, frames=5, size=8, seed=0):
    """Frame sequences (n, frames, size, size, 1) of a dot moving one pixel per frame; label = direction."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = np.zeros((n, frames, size, size, 1), dtype="float32")
    span = frames - 1
    for i, label in enumerate(y):
        dr, dc = _MOVES[label]
        r0 = rng.integers(span if dr < 0 else 0, size - (span if dr > 0 else 0))
        c0 = rng.integers(span if dc < 0 else 0, size - (span if dc > 0 else 0))
        for t in range(frames):
            x[i, t, r0 + dr * t, c0 + dc * t, 0] = 1.0
    return x, y


def test_cnn_lstm_learns_the_direction_of_a_moving_dot():
    x, y = moving_dot(320, seed=0)
    x_test, y_test = moving_dot(200, seed=1)
    model = Sequential(
        [
            TimeDistributed(Conv2D(8, 3, padding="same", activation="relu"), input_shape=x.shape[1:]),
            TimeDistributed(MaxPooling2D()),
            TimeDistributed(Flatten()),
            LSTM(16),
            Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9  # measured 0.975 (chance: 0.25)
    assert lstmkit.layers.TimeDistributed is TimeDistributed


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", (2, 1, 1)), ("same", 1)])
def test_conv3d_equals_numpy_and_follows_conv_lstm(rng, padding, strides):
    x = rng.normal(size=(2, 4, 5, 4, 2))  # (batch, depth or time, rows, cols, channels)
    layer = Conv3D(3, (3, 2, 2), strides=strides, padding=padding)
    layer.ensure_built((None, 4, 5, 4, 2))
    kernel, bias = [rng.normal(size=w.shape) for w in layer.get_weights()]
    assert kernel.shape == (3, 2, 2, 2, 3)
    layer.set_weights([kernel, bias])
    expected = conv(x, kernel, bias, strides, padding)
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-5)
    assert layer.compute_output_shape((None, 4, 5, 4, 2)) == (None,) + expected.shape[1:]
    assert Convolution3D is Conv3D
