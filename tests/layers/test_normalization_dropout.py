"""BatchNormalization, LayerNormalization, Dropout, SpatialDropout1D and GaussianNoise against NumPy
(training and inference), gradcheck, Keras weight layout, configs and errors."""

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.layers import (
    BatchNormalization,
    Dense,
    Dropout,
    GaussianNoise,
    InputShapeError,
    LayerNormalization,
    SpatialDropout1D,
)
from lstmkit.layers.core import Dropout as DropoutFromCore
from lstmkit.layers.normalization import BatchNormalization as BatchNormalizationFromModule
from lstmkit.models import Sequential

from .layer_checks import gradcheck_layer, round_trip


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


def _built(layer, shape):
    layer.ensure_built((None,) + tuple(shape[1:]))
    return layer


def _bn_with_random_weights(rng, shape, **kwargs):
    layer = _built(BatchNormalization(**kwargs), shape)
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    weights[-1] = np.abs(weights[-1]) + 0.3  # a variance
    layer.set_weights(weights)
    return layer, _copies(layer)


def _copies(layer):
    # get_weights() arrays may share memory with the layer's tensors: copy before the layer changes them.
    return [w.copy() for w in layer.get_weights()]


def _normalize(x, mean, variance, gamma, beta, epsilon, axis):
    shape = [1] * x.ndim
    shape[axis] = -1
    out = (x - mean.reshape(shape)) / np.sqrt(variance.reshape(shape) + epsilon)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    return out if beta is None else out + beta.reshape(shape)


# ---------------------------------------------------------------------------- BatchNormalization
BN_CASES = [
    ({}, (8, 5)),
    ({"momentum": 0.9, "epsilon": 0.01}, (4, 6, 5)),
    ({"axis": 1}, (4, 3, 5)),
    ({"center": False}, (6, 5)),
    ({"scale": False}, (6, 5)),
    ({"center": False, "scale": False}, (6, 5)),
]


def _split(weights, kwargs):
    center, scale = kwargs.get("center", True), kwargs.get("scale", True)
    weights = list(weights)
    gamma = weights.pop(0) if scale else None
    beta = weights.pop(0) if center else None
    return gamma, beta, weights[0], weights[1]


@pytest.mark.parametrize("kwargs,shape", BN_CASES)
def test_batch_norm_inference_uses_the_moving_statistics(rng, kwargs, shape):
    layer, weights = _bn_with_random_weights(rng, shape, **kwargs)
    gamma, beta, moving_mean, moving_var = _split(weights, kwargs)
    x = rng.normal(size=shape)
    layer.eval()
    expected = _normalize(
        x, moving_mean, moving_var, gamma, beta, kwargs.get("epsilon", 1e-3), kwargs.get("axis", -1)
    )
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(layer.get_weights()[-2], moving_mean)  # inference changes nothing


@pytest.mark.parametrize("kwargs,shape", BN_CASES)
def test_batch_norm_training_uses_batch_statistics_and_updates_the_moving_ones(rng, kwargs, shape):
    layer, weights = _bn_with_random_weights(rng, shape, **kwargs)
    gamma, beta, moving_mean, moving_var = _split(weights, kwargs)
    momentum, epsilon, axis = (
        kwargs.get("momentum", 0.99),
        kwargs.get("epsilon", 1e-3),
        kwargs.get("axis", -1),
    )
    reduce = tuple(d for d in range(len(shape)) if d != axis % len(shape))
    layer.train()
    for _ in range(3):  # the update compounds
        x = rng.normal(loc=2.0, scale=3.0, size=shape)
        mean, variance = x.mean(axis=reduce), x.var(axis=reduce)  # biased variance (ddof=0), as Keras
        expected = _normalize(x, mean, variance, gamma, beta, epsilon, axis)
        np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-4)
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var = moving_var * momentum + variance * (1 - momentum)  # also the biased variance
        np.testing.assert_allclose(layer.get_weights()[-2], moving_mean, atol=1e-5)
        np.testing.assert_allclose(layer.get_weights()[-1], moving_var, atol=1e-5)


def test_batch_norm_training_with_a_mask_uses_unmasked_steps_only(rng):
    layer, weights = _bn_with_random_weights(rng, (4, 6, 3))
    gamma, beta, moving_mean, _ = weights
    x = rng.normal(size=(4, 6, 3))
    mask = rng.random((4, 6)) > 0.4
    layer.train()
    got = layer(_t(x), mask=torch.tensor(mask)).detach().numpy()
    kept = x[mask]  # (n_kept, 3)
    mean, variance = kept.mean(axis=0), kept.var(axis=0)
    np.testing.assert_allclose(got, _normalize(x, mean, variance, gamma, beta, 1e-3, -1), atol=1e-4)
    np.testing.assert_allclose(layer.get_weights()[2], moving_mean * 0.99 + mean * 0.01, atol=1e-5)
    assert layer.compute_mask(_t(x), torch.tensor(mask)) is not None  # the mask passes on
    with pytest.raises(
        ValueError, match=r"mask must have one axis less than the input; received a mask of shape \(4,\)"
    ):
        layer(_t(x), mask=torch.ones(4, dtype=torch.bool))


def test_frozen_batch_norm_runs_in_inference_mode_even_in_training(rng):
    layer, weights = _bn_with_random_weights(rng, (6, 4))
    layer.trainable = False
    layer.train()
    x = rng.normal(size=(6, 4))
    np.testing.assert_allclose(
        layer(_t(x)).detach().numpy(),
        _normalize(x, weights[2], weights[3], weights[0], weights[1], 1e-3, -1),
        atol=1e-5,
    )
    for before, after in zip(weights, layer.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_batch_norm_keras_weights_and_counts(capsys):
    layer = _built(BatchNormalization(), (None, 7))
    assert [w.name.split("/")[-1] for w in layer.weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    assert [w.shape for w in layer.get_weights()] == [(7,)] * 4
    assert [w.trainable for w in layer.weights] == [True, True, False, False]
    gamma, beta, mean, variance = layer.get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (variance == 1).all()
    assert layer.count_params() == 4 * 7 and len(layer.trainable_weights) == 2
    assert [w.shape for w in _built(BatchNormalization(center=False), (None, 7)).get_weights()] == [(7,)] * 3
    model = Sequential([Dense(7, input_dim=3), BatchNormalization(), Dense(1)])
    model.summary()
    out = capsys.readouterr().out
    assert (
        "Total params: 64 " in out and "Trainable params: 50 " in out and "Non-trainable params: 14 " in out
    )
    assert BatchNormalizationFromModule is BatchNormalization


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape,axis", [((5, 3), -1), ((3, 4, 2), 1)])
def test_batch_norm_gradcheck_float64(rng, training, shape, axis):
    layer, _ = _bn_with_random_weights(rng, shape, axis=axis, dtype="float64")
    layer.train(training)
    assert gradcheck_layer(layer, torch.randn(*shape, dtype=torch.float64))


def test_batch_norm_config_round_trip(rng):
    layer = _built(
        BatchNormalization(
            axis=1,
            momentum=0.8,
            epsilon=0.01,
            center=False,
            gamma_initializer="zeros",
            gamma_regularizer="l2",
            name="bn_rt",
        ),
        (None, 3, 4),
    )
    config = layer.get_config()
    assert config["axis"] == 1 and config["momentum"] == 0.8 and config["center"] is False
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    weights[-1] = np.abs(weights[-1])
    layer.set_weights(weights)
    round_trip(layer, _t(rng.normal(size=(2, 3, 4))))
    (penalty,) = layer.regularization_losses()
    assert float(penalty.detach()) == pytest.approx(0.01 * float((layer.gamma.detach() ** 2).sum()))


def test_batch_norm_errors():
    with pytest.raises(InputShapeError, match=r"axis=3, which is not a feature axis of its 3-D input"):
        Sequential([BatchNormalization(axis=3, input_shape=(4, 5))])
    with pytest.raises(InputShapeError, match="axis=0, which is not a feature axis"):
        Sequential([BatchNormalization(axis=0, input_shape=(4, 5))])
    with pytest.raises(
        ValueError, match="momentum must be a number between 0.0 and 1.0. Received: momentum=1.5"
    ):
        BatchNormalization(momentum=1.5)
    with pytest.raises(
        TypeError, match=r"axis must be an integer \(e.g. -1 for the last axis\). Received: axis=\[1\]"
    ):
        BatchNormalization(axis=[1])
    with pytest.raises(
        InputShapeError, match=r"at least 2 dimensions \(batch, features\); received shape \(None,\)"
    ):
        BatchNormalization().ensure_built((None,))
    layer = _built(BatchNormalization(), (None, 4))
    with pytest.raises(
        InputShapeError, match=r"built for inputs of shape \(None, 4\).*received shape \(None, 5\)"
    ):
        layer.check_input_shape((None, 5))


def test_batch_norm_in_a_model_learns_moving_statistics_in_fit_only(rng):
    x = rng.normal(loc=5.0, scale=2.0, size=(64, 3))
    y = x.sum(axis=1, keepdims=True)
    model = Sequential([BatchNormalization(input_shape=(3,), momentum=0.5), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    gamma, beta, moving_mean, moving_var, kernel, bias = model.get_weights()
    np.testing.assert_allclose(moving_mean, x.mean(axis=0), atol=0.6)  # near the data's statistics
    before = [w.copy() for w in model.get_weights()]
    predicted = model.predict(x[:5], verbose=0)
    expected = _normalize(x[:5], moving_mean, moving_var, gamma, beta, 1e-3, -1) @ kernel + bias
    np.testing.assert_allclose(predicted, expected, atol=1e-4)
    model.evaluate(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):  # predict and evaluate update nothing
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize(
    "kwargs,shape",
    [
        ({}, (3, 4, 5)),
        ({"axis": [1, 2]}, (3, 4, 5)),
        ({"axis": 1}, (3, 4, 5)),
        ({"axis": [1, 3]}, (2, 3, 4, 5)),
        ({"axis": -2}, (2, 3, 4)),
        ({"center": False, "scale": False, "epsilon": 1e-5}, (3, 5)),
    ],
)
def test_layer_norm_equals_numpy(rng, kwargs, shape):
    layer = _built(LayerNormalization(**kwargs), shape)
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.normal(loc=1.0, scale=2.0, size=shape)
    axis = kwargs.get("axis", -1)
    axes = tuple(sorted(a % len(shape) for a in (axis if isinstance(axis, list) else [axis])))
    mean, variance = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(variance + kwargs.get("epsilon", 1e-3))
    bshape = [shape[d] if d in axes else 1 for d in range(len(shape))]
    if weights:
        expected = expected * weights[0].reshape(bshape) + weights[1].reshape(bshape)
    for training in (True, False):  # the same in both modes
        layer.train(training)
        np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-5)


def test_layer_norm_weights_gradcheck_and_config(rng):
    layer = _built(LayerNormalization(dtype="float64"), (None, 4, 6))
    assert [w.name.split("/")[-1] for w in layer.weights] == ["gamma", "beta"]
    assert [w.shape for w in layer.get_weights()] == [(6,), (6,)] and layer.count_params() == 12
    layer.set_weights([rng.normal(size=(6,)), rng.normal(size=(6,))])
    assert gradcheck_layer(layer, torch.randn(2, 4, 6, dtype=torch.float64))
    several = _built(LayerNormalization(axis=[1, 2], dtype="float64"), (None, 3, 4))
    assert [w.shape for w in several.get_weights()] == [(3, 4), (3, 4)]
    assert gradcheck_layer(several, torch.randn(2, 3, 4, dtype=torch.float64))
    clone = round_trip(
        _built(LayerNormalization(axis=[1, 2], epsilon=1e-5, name="ln_rt"), (None, 3, 4)),
        _t(rng.normal(size=(2, 3, 4))),
        rng,
    )
    assert clone.get_config()["axis"] == [1, 2]


def test_layer_norm_errors():
    with pytest.raises(InputShapeError, match="axis=2, which is not a feature axis of its 2-D input"):
        Sequential([LayerNormalization(axis=2, input_shape=(4,))])
    with pytest.raises(ValueError, match="epsilon must be a number >= 0.0. Received: epsilon=-1"):
        LayerNormalization(epsilon=-1)
    with pytest.raises(TypeError, match="axis must be an integer"):
        LayerNormalization(axis="last")
    with pytest.raises(
        InputShapeError, match=r"needs the size of axis 1 to be known; received input shape \(None, None, 4\)"
    ):
        LayerNormalization(axis=1).ensure_built((None, None, 4))


# ---------------------------------------------------------------------------- Dropout and noise
def test_dropout_is_the_identity_in_inference(rng):
    x = _t(rng.normal(size=(4, 5)))
    for layer in (Dropout(0.5), SpatialDropout1D(0.5), GaussianNoise(0.5)):
        layer.eval()
        inputs = x if not isinstance(layer, SpatialDropout1D) else x[:, :, None]
        assert torch.equal(layer(inputs), inputs)
        layer.train()
        assert torch.equal(layer(inputs, training=False), inputs)
    assert DropoutFromCore is Dropout


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("seed", [None, 7])
def test_dropout_training_statistics(rate, seed):
    layer = Dropout(rate, seed=seed)
    layer.train()
    x = torch.rand(200, 500) + 0.5
    out = layer(x)
    dropped = out == 0
    assert abs(dropped.float().mean().item() - rate) < 0.01  # 100k draws: sd ~0.0016
    torch.testing.assert_close(out[~dropped], x[~dropped] / (1 - rate))  # inverted dropout


def test_dropout_edge_rates_and_seeds():
    x = torch.rand(20, 30) + 0.5
    zero, one = Dropout(0.0), Dropout(1.0)
    zero.train(), one.train()
    assert torch.equal(zero(x), x) and torch.equal(one(x), torch.zeros_like(x))
    first, second = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    first.train(), second.train()
    a, b = first(x), second(x)
    assert torch.equal(a, b)  # same seed, same masks
    assert not torch.equal(first(x), a)  # a fresh mask each call
    lstmkit.utils.set_random_seed(11)
    c = Dropout(0.5).train()(x)
    lstmkit.utils.set_random_seed(11)
    assert torch.equal(Dropout(0.5).train()(x), c)  # unseeded: the global seed decides


def test_dropout_noise_shape_drops_along_broadcast_axes():
    layer = Dropout(0.5, noise_shape=(None, 1, 6))
    layer.train()
    out = layer(torch.ones(8, 5, 6))
    assert (out == out[:, :1, :]).all()  # the same mask at every timestep
    assert set(out.unique().tolist()) == {0.0, 2.0}
    with pytest.raises(
        ValueError, match=r"noise_shape=\(None, 1, 6\) has 3 entries but the input has 2 axes"
    ):
        layer(torch.ones(8, 6))
    with pytest.raises(
        ValueError, match=r"does not fit the input shape \(8, 5, 7\).*use None for the batch axis"
    ):
        layer(torch.ones(8, 5, 7))
    assert Dropout(0.5, noise_shape=[None, 1, 6]).get_config()["noise_shape"] == (None, 1, 6)


def test_spatial_dropout_drops_whole_channels():
    layer = SpatialDropout1D(0.5, seed=1)
    layer.train()
    out = layer(torch.ones(16, 7, 10))
    assert (out == out[:, :1, :]).all() and set(out.unique().tolist()) == {0.0, 2.0}
    dropped = (out[:, 0, :] == 0).float().mean().item()
    assert 0.3 < dropped < 0.7
    with pytest.raises(
        InputShapeError,
        match=r"SpatialDropout1D\) expects 3-D input \(batch, steps, channels\); "
        r"received a 2-D",
    ):
        layer(torch.ones(4, 3))
    assert "noise_shape" not in layer.get_config()


def test_gaussian_noise_statistics():
    layer = GaussianNoise(0.3, seed=5)
    layer.train()
    x = torch.ones(300, 400)
    noise = layer(x) - x
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - 0.3) < 0.01


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: Dropout(1.5), "rate must be a number between 0 and 1. Received: rate=1.5"),
        (lambda: Dropout("0.5"), "rate must be a number between 0 and 1"),
        (lambda: Dropout(0.5, seed=-1), "seed must be an integer >= 0. Received: seed=-1"),
        (lambda: Dropout(0.5, noise_shape=(None, 0)), "noise_shape must contain positive integers or None"),
        (lambda: SpatialDropout1D(-0.1), "rate must be a number between 0 and 1"),
        (lambda: GaussianNoise(2.0), "stddev must be a number between 0 and 1. Received: stddev=2.0"),
    ],
)
def test_noise_layer_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_noise_layers_pass_masks_and_round_trip_their_config(rng):
    mask = torch.tensor([[True, False, True]])
    x = _t(rng.normal(size=(1, 3, 2)))
    for layer in (
        Dropout(0.3, noise_shape=(None, 1, 2), seed=4, name="d_rt"),
        SpatialDropout1D(0.2, name="sd_rt"),
        GaussianNoise(0.1, seed=2, name="gn_rt"),
    ):
        assert layer.compute_mask(x, mask) is mask
        assert layer.count_params() == 0
        round_trip(layer, x)


def test_dropout_in_a_model_is_active_in_fit_only(rng):
    x = rng.normal(size=(32, 4))
    model = Sequential([Dense(8, input_dim=4), Dropout(0.5), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(first, (x @ k1 + b1) @ k2 + b2, atol=1e-5)  # no dropout, no rescaling
    model.train()
    assert not np.allclose(model(_t(x)).detach().numpy(), first)
