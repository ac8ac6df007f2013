"""The small layers tutorials use (activation layers, ActivityRegularization, UpSampling1D, ZeroPadding1D,
Cropping1D, Identity) and Keras 2's CuDNNLSTM / CuDNNGRU, against NumPy formulas and the standard layers."""

import numpy as np
import pytest
import torch

from lstmkit.layers import (
    ELU,
    GRU,
    LSTM,
    ActivityRegularization,
    Bidirectional,
    Cropping1D,
    CuDNNGRU,
    CuDNNLSTM,
    Dense,
    Embedding,
    Identity,
    InputShapeError,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
    UpSampling1D,
    ZeroPadding1D,
)
from lstmkit.layers.advanced_activations import LeakyReLU as LeakyReLUFromKeras2Path
from lstmkit.layers.cudnn_recurrent import CuDNNLSTM as CuDNNLSTMFromKeras2Path
from lstmkit.models import Sequential

from .layer_checks import gradcheck_layer, round_trip
from .reference import gru_step, lstm, run_rnn


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------- activation layers
ELEMENTWISE = [
    (ReLU(), lambda x: np.maximum(x, 0)),
    (ReLU(max_value=6.0), lambda x: np.clip(x, 0, 6)),
    (
        ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
        lambda x: np.where(x > 0.5, np.minimum(x, 2.0), 0.1 * (x - 0.5)),
    ),
    (LeakyReLU(), lambda x: np.where(x >= 0, x, 0.3 * x)),  # Keras 3's default slope: 0.3
    (LeakyReLU(negative_slope=0.05), lambda x: np.where(x >= 0, x, 0.05 * x)),
    (ELU(), lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    (ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (ThresholdedReLU(theta=0.7), lambda x: np.where(x > 0.7, x, 0.0)),
    (Softmax(), lambda x: _softmax(x, -1)),
    (Softmax(axis=1), lambda x: _softmax(x, 1)),
    (Softmax(axis=(1, 2)), lambda x: _softmax(x, (1, 2))),
    (Identity(), lambda x: x),
]


@pytest.mark.parametrize(
    "layer,formula", ELEMENTWISE, ids=[f"{type(l).__name__}-{i}" for i, (l, _) in enumerate(ELEMENTWISE)]
)
def test_elementwise_layers_equal_their_formulas(rng, layer, formula):
    x = rng.normal(scale=3.0, size=(3, 4, 5))
    got = layer(_t(x)).detach().numpy()
    np.testing.assert_allclose(got, formula(x), rtol=1e-6, atol=1e-6)
    assert layer.compute_output_shape((None, 4, 5)) == (None, 4, 5)
    round_trip(layer, _t(x))


def test_leaky_relu_keras2_alpha_and_path():
    with pytest.warns(DeprecationWarning, match="alpha"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1
    assert LeakyReLUFromKeras2Path is LeakyReLU


def test_prelu_learns_alpha_with_shared_axes(rng):
    x = rng.normal(size=(2, 4, 3))
    layer = PReLU(shared_axes=[1], alpha_initializer="constant")
    layer.ensure_built((None, 4, 3))
    (alpha,) = layer.get_weights()
    assert alpha.shape == (1, 3)  # one alpha per feature, shared over the steps
    alpha = rng.uniform(0.1, 0.5, size=(1, 3))
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), np.where(x >= 0, x, alpha * x), atol=1e-6)
    assert PReLU().count_params() == 0
    full = PReLU(dtype="float64")
    full.ensure_built((None, 4, 3))
    assert full.count_params() == 12
    full.set_weights([rng.uniform(0.1, 0.5, size=(4, 3))])
    assert gradcheck_layer(full, torch.tensor(rng.normal(size=(2, 4, 3))))
    round_trip(layer, _t(x), rng)


def test_softmax_mask_gives_masked_positions_no_probability(rng):
    x = _t(rng.normal(size=(2, 3, 4)))
    mask = torch.tensor(rng.random((2, 3, 4)) > 0.4)
    mask[..., 0] = True
    got = Softmax()(x, mask=mask).numpy()
    expected = np.where(mask, np.exp(x.numpy()), 0.0)
    np.testing.assert_allclose(got, expected / expected.sum(-1, keepdims=True), atol=1e-6)
    rows = torch.tensor([[True, False, True], [True, True, True]])  # (batch, timesteps), e.g. from Embedding
    out = Softmax()(x, mask=rows).numpy()
    assert np.all(out[0, 1] == 0) and np.allclose(out[1].sum(-1), 1)


def test_activation_layer_errors_teach():
    with pytest.raises(ValueError, match=r"ReLU: max_value must be a number >= 0.0. Received: max_value=-1"):
        ReLU(max_value=-1)
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a number >= 0"):
        LeakyReLU(-0.2)
    with pytest.raises(ValueError, match=r"PReLU: shared_axes must be axis numbers >= 1"):
        PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match=r"Unknown constraint: 'non_negative'.*Did you mean 'non_neg'"):
        PReLU(alpha_constraint="non_negative")
    with pytest.raises(ValueError, match=r"Softmax: axis must be an integer"):
        Softmax(axis="last")
    with pytest.raises(InputShapeError, match=r"has axis=3, which is not a non-batch axis of its 3-D input"):
        Softmax(axis=3)(torch.zeros(2, 3, 4))
    with pytest.raises(InputShapeError, match=r"PReLU\) was built for inputs of shape \(None, 4, 3\)"):
        layer = PReLU()
        layer(torch.zeros(2, 4, 3))
        layer(torch.zeros(2, 5, 3))
    with pytest.raises(InputShapeError, match=r"Add the unknown axes to shared_axes"):
        PReLU().ensure_built((None, None, 3))


# ---------------------------------------------------------------------------- ActivityRegularization
def test_activity_regularization_adds_its_penalty_to_the_loss(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    model = Sequential([Dense(2, input_shape=(3,)), ActivityRegularization(l1=0.01, l2=0.1)])
    model.compile(optimizer="sgd", loss="mse")
    out = model.predict(x, verbose=0)
    penalty = (0.01 * np.abs(out).sum() + 0.1 * np.square(out).sum()) / 8  # per batch, divided by its size
    loss = model.evaluate(x, y, batch_size=8, verbose=0)
    np.testing.assert_allclose(loss, np.mean((out - y) ** 2) + penalty, rtol=1e-5)
    np.testing.assert_allclose(model.layers[1](_t(out)).numpy(), out)  # the values pass unchanged
    # Training shrinks the activations the penalty is on.
    model = Sequential(
        [Dense(2, input_shape=(3,), kernel_initializer="ones"), ActivityRegularization(l2=10.0)]
    )
    model.compile(optimizer="sgd", loss="mse")
    before = np.abs(model.predict(x, verbose=0)).mean()
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert np.abs(model.predict(x, verbose=0)).mean() < 0.2 * before
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        ActivityRegularization(l1=-1)
    assert ActivityRegularization(l2=0.5).get_config()["l2"] == 0.5


# ---------------------------------------------------------------------------- steps: up-sampling, padding, cropping
def test_upsampling_padding_cropping_equal_numpy(rng):
    x = rng.normal(size=(2, 5, 3))
    cases = [
        (UpSampling1D(3), np.repeat(x, 3, axis=1)),
        (ZeroPadding1D(), np.pad(x, ((0, 0), (1, 1), (0, 0)))),
        (ZeroPadding1D((0, 2)), np.pad(x, ((0, 0), (0, 2), (0, 0)))),
        (Cropping1D(), x[:, 1:-1]),
        (Cropping1D((2, 0)), x[:, 2:]),
    ]
    for layer, expected in cases:
        np.testing.assert_array_equal(layer(_t(x, torch.float64)).numpy(), expected)
        assert layer.compute_output_shape((None, 5, 3)) == (None,) + expected.shape[1:]
        assert layer.compute_output_shape((None, None, 3)) == (None, None, 3)
        round_trip(layer, _t(x))
    first = ZeroPadding1D((1, 2), data_format="channels_first")
    got = first(_t(x.transpose(0, 2, 1), torch.float64)).numpy()
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (1, 2), (0, 0))).transpose(0, 2, 1))


def test_steps_layers_drop_the_mask_and_errors_teach():
    model = Sequential([Embedding(10, 4, mask_zero=True, input_shape=(6,)), UpSampling1D(2)])
    x = torch.tensor([[1, 2, 0, 0, 0, 0]])
    assert model.layers[1].compute_mask(x, x != 0) is None  # Keras: the step count changed, the mask is gone
    assert Identity().compute_mask(x, x != 0) is not None
    with pytest.raises(ValueError, match=r"UpSampling1D: size must be a positive integer. Received: size=0"):
        UpSampling1D(0)
    with pytest.raises(ValueError, match=r"padding must be a non-negative integer or a tuple of two"):
        ZeroPadding1D((1, 2, 3))
    with pytest.raises(InputShapeError, match=r"crops 2 steps before and 3 after, which leaves nothing"):
        Cropping1D((2, 3))(torch.zeros(1, 5, 2))
    with pytest.raises(
        InputShapeError, match=r"expects 3-D input \(batch, steps, features\).*TimeDistributed"
    ):
        UpSampling1D()(torch.zeros(1, 2, 5, 2))


# ---------------------------------------------------------------------------- CuDNNLSTM / CuDNNGRU
def _standard_kernels(kernel, recurrent, gates):
    """Keras 2's conversion of cuDNN-layer kernels to the standard layers' (legacy hdf5_format
    ``_convert_rnn_weights``): per gate, the input block is ``k.T.reshape(k.shape, order='F')`` and the
    recurrent block is transposed."""
    k = np.hstack([g.T.reshape(g.shape, order="F") for g in np.hsplit(kernel, gates)])
    r = np.hstack([g.T for g in np.hsplit(recurrent, gates)])
    return k, r


def test_cudnn_lstm_is_an_lstm_with_two_biases(rng):
    x = rng.normal(size=(3, 6, 4))
    layer = CuDNNLSTM(5, return_sequences=True, return_state=True)
    layer.ensure_built((None, 6, 4))
    kernel, recurrent, bias = layer.get_weights()
    assert (kernel.shape, recurrent.shape, bias.shape) == ((4, 20), (5, 20), (40,))  # Keras 2's layout
    np.testing.assert_array_equal(bias, np.r_[np.zeros(25), np.ones(5), np.zeros(10)])  # recurrent forget = 1
    weights = [rng.normal(scale=0.5, size=w.shape) for w in (kernel, recurrent, bias)]
    layer.set_weights(weights)
    assert layer.count_params() == 4 * 20 + 5 * 20 + 40  # Keras 2's count: 220
    kernel, recurrent = _standard_kernels(weights[0], weights[1], 4)
    expected = lstm(x, kernel, recurrent, weights[2][:20] + weights[2][20:], return_sequences=True)
    for got, want in zip(layer(_t(x)), expected):  # the fused kernel
        np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-5)
    mask = torch.ones(3, 6, dtype=torch.bool)
    np.testing.assert_allclose(  # the generic step loop (masks) computes the same
        layer(_t(x), mask=mask)[0].detach().numpy(), expected[0], atol=1e-5
    )
    assert CuDNNLSTMFromKeras2Path is CuDNNLSTM and isinstance(layer, LSTM)
    # The cuDNN arrangement reads back as it was set.
    np.testing.assert_allclose(layer.get_weights()[0], weights[0], rtol=1e-6)


def test_cudnn_gru_is_gru_reset_after_with_a_flat_bias(rng):
    x = rng.normal(size=(3, 6, 4))
    layer = CuDNNGRU(5, go_backwards=True)
    layer.ensure_built((None, 6, 4))
    assert [w.shape for w in layer.get_weights()] == [(4, 15), (5, 15), (30,)]
    weights = [rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    gru = GRU(5, go_backwards=True, reset_after=True)
    gru.ensure_built((None, 6, 4))
    kernel, recurrent = _standard_kernels(weights[0], weights[1], 3)
    gru.set_weights([kernel, recurrent, weights[2].reshape(2, 15)])
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), gru(_t(x)).detach().numpy(), atol=1e-6)
    step = gru_step(kernel, recurrent, weights[2].reshape(2, 15), reset_after=True)
    expected, _ = run_rnn(step, x, [np.zeros((3, 5))], go_backwards=True)
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-5)


def test_cudnn_layers_config_round_trip_and_bidirectional(rng):
    for layer in (CuDNNLSTM(3, return_sequences=True, unit_forget_bias=False), CuDNNGRU(3, stateful=False)):
        x = _t(rng.normal(size=(2, 4, 2)))
        layer.ensure_built((None, 4, 2))
        clone = round_trip(layer, x, rng)
        config = clone.get_config()
        assert config["time_major"] is False and config["kernel_constraint"] is None
        assert "activation" not in config and "dropout" not in config and "unroll" not in config
    wrapped = Bidirectional(CuDNNLSTM(3), input_shape=(4, 2))
    assert wrapped(_t(rng.normal(size=(2, 4, 2)))).shape == (2, 6)
    assert type(wrapped.backward_layer) is CuDNNLSTM and wrapped.count_params() == 2 * (2 * 12 + 3 * 12 + 24)


@pytest.mark.parametrize(
    "cls,argument",
    [
        (CuDNNLSTM, "activation"),
        (CuDNNLSTM, "dropout"),
        (CuDNNLSTM, "recurrent_dropout"),
        (CuDNNLSTM, "unroll"),
        (CuDNNGRU, "reset_after"),
        (CuDNNGRU, "recurrent_activation"),
        (CuDNNGRU, "use_bias"),
    ],
)
def test_cudnn_layers_reject_arguments_they_never_took(cls, argument):
    standard = "LSTM" if cls is CuDNNLSTM else "GRU"
    with pytest.raises(
        TypeError, match=rf"{cls.__name__} does not take the argument {argument}=.*{standard}\(units"
    ):
        cls(4, **{argument: "tanh"})


def test_cudnn_layers_other_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'unit'.*units"):
        CuDNNLSTM(4, unit=3)
    with pytest.raises(ValueError, match=r"time_major=True .* is not supported. Transpose the data"):
        CuDNNGRU(4, time_major=True)
    constrained = CuDNNLSTM(4, kernel_constraint="max_norm")  # constraints exist now: kept, and saved
    assert type(constrained.cell.kernel_constraint).__name__ == "MaxNorm"
    assert CuDNNLSTM.from_config(constrained.get_config()).cell.kernel_constraint.max_value == 2


def test_activity_regularization_loss_is_in_layer_losses(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    layer = ActivityRegularization(l1=0.5)
    out = layer(_t(x))
    (penalty,) = layer.losses  # the latest call's penalty, as in Keras
    np.testing.assert_allclose(penalty.item(), 0.5 * np.abs(x).sum() / 8, rtol=1e-6)
    np.testing.assert_array_equal(out.numpy(), x)
