"""Conv1D and the 1-D pooling layers against NumPy loops, plus gradcheck, Keras weight layout and errors."""

import numpy as np
import pytest
import torch

from lstmkit.layers import (
    AveragePooling1D,
    AvgPool1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    InputShapeError,
    MaxPooling1D,
)
from lstmkit.layers.convolutional import Conv1D as Conv1DFromKeras2Path
from lstmkit.layers.convolutional import MaxPooling1D as MaxPoolingFromKeras2Path
from lstmkit.models import Sequential

from .layer_checks import gradcheck_layer, round_trip
from .sequence_reference import conv1d, output_steps, pool1d


def _built(layer, shape):
    layer.ensure_built((None,) + tuple(shape[1:]))
    return layer


def _t(a):
    return torch.tensor(a, dtype=torch.float32)


# ---------------------------------------------------------------------------- Conv1D
CONV_CASES = [  # (padding, strides, dilation_rate, kernel_size)
    (p, s, d, k)
    for p in ("valid", "same", "causal")
    for s, d in ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3))
    for k in (1, 2, 3)
]


@pytest.mark.parametrize("steps", [7, 8])
@pytest.mark.parametrize("padding,strides,dilation,kernel_size", CONV_CASES)
def test_conv1d_equals_numpy(rng, steps, padding, strides, dilation, kernel_size):
    x = rng.normal(size=(2, steps, 3))
    layer = _built(Conv1D(4, kernel_size, strides=strides, padding=padding, dilation_rate=dilation), x.shape)
    kernel, bias = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights([kernel, bias])
    expected = conv1d(x, kernel, bias, strides, padding, dilation)
    got = layer(_t(x)).detach().numpy()
    assert got.shape == expected.shape
    assert layer.compute_output_shape((None, steps, 3)) == (None,) + expected.shape[1:]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_conv1d_hand_computed_causal_and_same():
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)  # 1 2 3 4 5
    causal = _built(Conv1D(1, 2, padding="causal", kernel_initializer="ones"), x.shape)
    np.testing.assert_allclose(causal(_t(x)).detach().numpy().ravel(), [1, 3, 5, 7, 9])  # x[t] + x[t-1]
    same = _built(Conv1D(1, 3, padding="same", kernel_initializer="ones"), x.shape)
    np.testing.assert_allclose(same(_t(x)).detach().numpy().ravel(), [3, 6, 9, 12, 9])
    # 'same' with an even span puts the extra padded step at the end (TensorFlow's rule).
    even = _built(Conv1D(1, 2, padding="same", kernel_initializer="ones"), x.shape)
    np.testing.assert_allclose(even(_t(x)).detach().numpy().ravel(), [3, 5, 7, 9, 5])
    dilated = _built(Conv1D(1, 2, dilation_rate=2, kernel_initializer="ones"), x.shape)
    np.testing.assert_allclose(dilated(_t(x)).detach().numpy().ravel(), [4, 6, 8])  # x[t] + x[t+2]


@pytest.mark.parametrize("activation", ["relu", "softmax", "tanh"])
def test_conv1d_groups_activation_and_no_bias(rng, activation):
    x = rng.normal(size=(3, 9, 6))
    layer = _built(Conv1D(4, 3, groups=2, activation=activation, use_bias=False), x.shape)
    (kernel,) = layer.get_weights()
    assert kernel.shape == (3, 3, 4)  # (kernel_size, channels // groups, filters)
    kernel = rng.normal(size=kernel.shape)
    layer.set_weights([kernel])
    z = conv1d(x, kernel, None, groups=2)
    if activation == "softmax":
        expected = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    else:
        expected = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-5)


def test_conv1d_channels_first_is_the_transposed_channels_last(rng):
    x = rng.normal(size=(2, 9, 3))
    last = _built(Conv1D(4, 3, strides=2, padding="same"), x.shape)
    first = _built(Conv1D(4, 3, strides=2, padding="same", data_format="channels_first"), (2, 3, 9))
    first.set_weights(last.get_weights())
    assert first.compute_output_shape((None, 3, 9)) == (None, 4, 5)
    np.testing.assert_allclose(
        first(_t(x.transpose(0, 2, 1))).detach().numpy(),
        last(_t(x)).detach().numpy().transpose(0, 2, 1),
        atol=1e-6,
    )


@pytest.mark.parametrize("kernel_size,channels,filters,groups", [(3, 5, 4, 1), (1, 2, 64, 1), (5, 6, 8, 2)])
def test_conv1d_keras_weight_shapes_and_parameter_count(kernel_size, channels, filters, groups):
    layer = _built(Conv1D(filters, kernel_size, groups=groups), (None, 10, channels))
    assert [w.shape for w in layer.get_weights()] == [(kernel_size, channels // groups, filters), (filters,)]
    assert layer.count_params() == kernel_size * (channels // groups) * filters + filters  # Keras's formula
    assert [w.name.split("/")[-1] for w in layer.weights] == ["kernel", "bias"]
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6.0 / ((channels // groups) * kernel_size + filters * kernel_size))  # glorot_uniform fans
    assert np.abs(kernel).max() <= limit and not bias.any()


@pytest.mark.parametrize("padding,strides,dilation", [("valid", 1, 1), ("same", 2, 1), ("causal", 1, 2)])
def test_conv1d_gradcheck_float64(padding, strides, dilation):
    layer = _built(
        Conv1D(
            3, 3, strides=strides, padding=padding, dilation_rate=dilation, activation="tanh", dtype="float64"
        ),
        (None, 7, 2),
    )
    assert gradcheck_layer(layer, torch.randn(2, 7, 2, dtype=torch.float64))


def test_conv1d_config_round_trip(rng):
    layer = _built(
        Conv1D(
            4,
            3,
            strides=2,
            padding="causal",
            activation="relu",
            kernel_regularizer="l2",
            bias_initializer="ones",
            name="c1",
        ),
        (None, 9, 3),
    )
    config = layer.get_config()
    assert config["kernel_size"] == (3,) and config["strides"] == (2,) and config["padding"] == "causal"
    round_trip(layer, _t(rng.normal(size=(2, 9, 3))), rng)


def test_conv1d_regularization_loss():
    layer = _built(Conv1D(2, 2, kernel_regularizer="l2", kernel_initializer="ones"), (None, 5, 3))
    (penalty,) = layer.regularization_losses()
    assert float(penalty.detach()) == pytest.approx(0.01 * 2 * 3 * 2)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"filters": 0, "kernel_size": 3}, "filters must be a positive integer. Received: filters=0"),
        ({"filters": 2, "kernel_size": (3, 3)}, "kernel_size must be one positive integer"),
        (
            {"filters": 2, "kernel_size": 3, "padding": "full"},
            "padding must be one of 'valid', 'same', 'causal'",
        ),
        (
            {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
            "strides > 1 cannot be combined",
        ),
        ({"filters": 3, "kernel_size": 3, "groups": 2}, "filters must be divisible by groups"),
        ({"filters": 2, "kernel_size": 3, "data_format": "NCW"}, "data_format must be 'channels_last'"),
    ],
)
def test_conv1d_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv1D(**kwargs)


def test_conv1d_input_errors():
    with pytest.raises(
        InputShapeError, match=r"expects 3-D input.*\(None, 2, 8, 1\).*TimeDistributed\(Conv1D"
    ):
        Sequential([Conv1D(4, 2, input_shape=(2, 8, 1))])
    with pytest.raises(InputShapeError, match="spans 5 steps, but its input has only 3 steps"):
        Sequential([Conv1D(4, 5, input_shape=(3, 2))])
    with pytest.raises(InputShapeError, match="groups=2, which must divide the 3 input channels"):
        Sequential([Conv1D(4, 2, groups=2, input_shape=(6, 3))])
    layer = _built(Conv1D(4, 2), (None, 6, 3))
    with pytest.raises(InputShapeError, match="built for inputs with 3 channels"):
        layer.check_input_shape((None, 6, 5))
    assert layer(torch.zeros(1, 11, 3)).shape == (1, 10, 4)  # the number of steps may change


def test_conv1d_from_keras2_module_path_and_input_dim():
    assert Conv1DFromKeras2Path is Conv1D and MaxPoolingFromKeras2Path is MaxPooling1D
    model = Sequential([Conv1D(2, 3, input_dim=4)])
    assert model.input_shape == (None, None, 4) and model.output_shape == (None, None, 2)


# ---------------------------------------------------------------------------- pooling
POOL_CASES = [(k, s, p) for k in (1, 2, 3, 4) for s in (None, 1, 2, 3) for p in ("valid", "same")]


@pytest.mark.parametrize("steps", [7, 8])
@pytest.mark.parametrize("pool_size,strides,padding", POOL_CASES)
@pytest.mark.parametrize("cls,mode", [(MaxPooling1D, "max"), (AveragePooling1D, "avg")])
def test_pooling_equals_numpy(rng, cls, mode, steps, pool_size, strides, padding):
    x = rng.normal(size=(2, steps, 3))
    layer = cls(pool_size, strides, padding)
    expected = pool1d(x, pool_size, strides, padding, mode)
    got = layer(_t(x)).detach().numpy()
    assert layer.compute_output_shape((None, steps, 3)) == (None, expected.shape[1], 3)
    assert expected.shape[1] == output_steps(steps, pool_size, strides or pool_size, padding)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_average_pooling_same_padding_averages_real_steps_only():
    x = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]])
    got = AveragePooling1D(2, padding="same")(_t(x)).detach().numpy().ravel()
    np.testing.assert_allclose(got, [1.5, 3.5, 5.0])  # the last window holds only the 5 (not (5 + 0) / 2)
    negative = MaxPooling1D(2, padding="same")(_t(-x)).detach().numpy().ravel()
    np.testing.assert_allclose(negative, [-1.0, -3.0, -5.0])  # padding never wins a max


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
def test_pooling_channels_first_defaults_and_config(rng, cls):
    x = rng.normal(size=(2, 9, 3))
    first = cls(3, 2, "same", data_format="channels_first")
    np.testing.assert_allclose(
        first(_t(x.transpose(0, 2, 1))).detach().numpy(),
        cls(3, 2, "same")(_t(x)).detach().numpy().transpose(0, 2, 1),
        atol=1e-6,
    )
    default = cls()
    assert default.get_config()["pool_size"] == (2,) and default.get_config()["strides"] == (2,)
    assert default.count_params() == 0 and default.get_weights() == []
    round_trip(_built(cls(3, 1, "same", name=f"pool_{cls.__name__}"), (None, 9, 3)), _t(x))


def test_pooling_errors():
    with pytest.raises(ValueError, match="pool_size must be a positive integer. Received: pool_size=0"):
        MaxPooling1D(0)
    with pytest.raises(
        ValueError, match="padding must be one of 'valid', 'same'. Received: padding='causal'"
    ):
        AveragePooling1D(2, padding="causal")
    with pytest.raises(InputShapeError, match="pool_size=4, but its input has only 3 steps"):
        Sequential([MaxPooling1D(4, input_shape=(3, 2))])
    with pytest.raises(InputShapeError, match=r"expects 3-D input.*TimeDistributed\(MaxPooling1D"):
        MaxPooling1D()(torch.zeros(2, 3, 4, 1))
    assert MaxPooling1D(4, padding="same")(torch.zeros(1, 3, 2)).shape == (1, 1, 2)
    assert AvgPool1D is AveragePooling1D


# ---------------------------------------------------------------------------- global pooling
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_equals_numpy(rng, keepdims):
    x = rng.normal(size=(3, 5, 4))
    for layer, expected in (
        (GlobalMaxPooling1D(keepdims=keepdims), x.max(axis=1, keepdims=keepdims)),
        (GlobalAveragePooling1D(keepdims=keepdims), x.mean(axis=1, keepdims=keepdims)),
    ):
        np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-6)
        assert layer.compute_output_shape((None, 5, 4)) == ((None, 1, 4) if keepdims else (None, 4))


def test_global_average_pooling_averages_unmasked_steps_only(rng):
    x = rng.normal(size=(3, 6, 4))
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 1], [1, 1, 1, 1, 1, 1]], dtype=bool)
    layer = GlobalAveragePooling1D()
    got = layer(_t(x), mask=torch.tensor(mask)).detach().numpy()
    expected = np.stack([x[i][mask[i]].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert layer.compute_mask(_t(x), torch.tensor(mask)) is None  # the steps axis is gone
    # channels_first: (batch, channels, steps) with the same (batch, steps) mask.
    first = GlobalAveragePooling1D(data_format="channels_first", keepdims=True)
    got_first = first(_t(x.transpose(0, 2, 1)), mask=torch.tensor(mask)).detach().numpy()
    np.testing.assert_allclose(got_first[..., 0], expected, atol=1e-6)
    # As in Keras, a fully masked sample gives 0 / 0 = NaN; GlobalMaxPooling1D ignores masks.
    all_masked = layer(_t(x[:1]), mask=torch.zeros(1, 6, dtype=torch.bool)).detach().numpy()
    assert np.isnan(all_masked).all()
    np.testing.assert_allclose(
        GlobalMaxPooling1D()(_t(x), mask=torch.tensor(mask)).detach().numpy(), x.max(axis=1)
    )


def test_global_pooling_rank_error_and_config():
    with pytest.raises(
        InputShapeError, match=r"expects 3-D input \(batch, steps, channels\); received a 2-D"
    ):
        GlobalAveragePooling1D()(torch.zeros(2, 3))
    layer = GlobalMaxPooling1D(keepdims=True, name="gmp")
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
