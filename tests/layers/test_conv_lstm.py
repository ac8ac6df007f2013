"""ConvLSTM1D / ConvLSTM2D against a NumPy ConvLSTM (Keras layout weights), gradcheck, the recurrent machinery
(masks, states, stateful, dropout), errors, and an activity-style classifier that trains."""

import numpy as np
import pytest
import torch

from lstmkit.layers import Bidirectional, ConvLSTM1D, ConvLSTM2D, Dense, GlobalMaxPooling2D, InputShapeError
from lstmkit.layers.convolutional_recurrent import ConvLSTM2D as ConvLSTM2DFromKeras2Path
from lstmkit.models import Sequential
from lstmkit.optimizers import Adam

from .frames_reference import conv_lstm
from .layer_checks import gradcheck_layer, round_trip


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


def _random_weights(layer, rng, x_shape):
    layer.ensure_built((None,) + tuple(x_shape[1:]))
    weights = [rng.normal(scale=0.4, size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


CASES_2D = [
    {},
    {"padding": "same"},
    {"padding": "same", "kernel_size": (2, 3), "return_sequences": True},
    {"strides": (2, 1), "go_backwards": True, "return_sequences": True},
    {
        "dilation_rate": (1, 2),
        "padding": "same",
        "recurrent_activation": "hard_sigmoid",
        "activation": "relu",
    },
    {"use_bias": False, "kernel_size": 2},
]


@pytest.mark.parametrize(
    "options", CASES_2D, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default"
)
def test_conv_lstm2d_equals_numpy(rng, options):
    options = dict(options)
    kernel_size = options.pop("kernel_size", 3)
    x = rng.normal(size=(2, 4, 7, 6, 3))
    layer = ConvLSTM2D(3, kernel_size, return_state=True, **options)
    weights = _random_weights(layer, rng, x.shape)
    assert [w.shape for w in weights][:2] == [
        layer.kernel_size + (3, 12),
        layer.kernel_size + (3, 12),
    ]  # (*kernel, channels, 4*filters), (*kernel, filters, 4*filters)
    output, h, c = layer(_t(x))
    ref_options = {k: v for k, v in options.items() if k != "use_bias"}
    expected = conv_lstm(x, weights[0], weights[1], weights[2] if len(weights) == 3 else None, **ref_options)
    for got, want in zip((output, h, c), expected):
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=1e-5)
    shapes = layer.compute_output_shape((None, 4, 7, 6, 3))
    assert [s[1:] for s in shapes] == [e.shape[1:] for e in expected]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": "same", "return_sequences": True},
        {"strides": 2},
        {"dilation_rate": 2, "padding": "same"},
    ],
)
def test_conv_lstm1d_equals_numpy(rng, options):
    x = rng.normal(size=(3, 5, 9, 2))  # (batch, timesteps, steps, channels)
    layer = ConvLSTM1D(4, 3, **options)
    weights = _random_weights(layer, rng, x.shape)
    expected, _, _ = conv_lstm(x, *weights, **options)
    got = layer(_t(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert layer.compute_output_shape((None, 5, 9, 2))[1:] == expected.shape[1:]


def test_conv_lstm2d_channels_first(rng):
    x = rng.normal(size=(2, 3, 5, 5, 2))
    last = ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    weights = _random_weights(last, rng, x.shape)
    first = ConvLSTM2D(2, 3, padding="same", return_sequences=True, data_format="channels_first")
    first.ensure_built((None, 3, 2, 5, 5))
    first.set_weights(weights)
    got = first(_t(x.transpose(0, 1, 4, 2, 3))).detach().numpy()
    np.testing.assert_allclose(got, last(_t(x)).detach().numpy().transpose(0, 1, 4, 2, 3), atol=1e-6)
    assert first.compute_output_shape((None, 3, 2, 5, 5)) == (None, 3, 2, 5, 5)


def test_conv_lstm_gradcheck(rng):
    layer2d = ConvLSTM2D(2, (2, 3), padding="same", return_sequences=True, dtype="float64")
    x = torch.tensor(rng.normal(size=(2, 3, 4, 3, 2)))
    layer2d.ensure_built((None,) + tuple(x.shape[1:]))
    assert gradcheck_layer(layer2d, x)
    layer1d = ConvLSTM1D(2, 2, strides=2, go_backwards=True, dtype="float64")
    x = torch.tensor(rng.normal(size=(2, 3, 5, 2)))
    layer1d.ensure_built((None,) + tuple(x.shape[1:]))
    assert gradcheck_layer(layer1d, x)


def test_initial_weights_and_parameter_count():
    layer = ConvLSTM2D(4, (3, 2))
    layer.ensure_built((None, 5, 8, 8, 3))
    _kernel, recurrent, bias = layer.get_weights()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # unit_forget_bias
    flat = recurrent.reshape(-1, 16)  # orthogonal over the (kr*kc*filters, 4*filters) flattening
    np.testing.assert_allclose(flat.T @ flat, np.eye(16), atol=1e-5)
    # Keras: kernel 3*2*3*16 + recurrent 3*2*4*16 + bias 16.
    assert layer.count_params() == 3 * 2 * 3 * 16 + 3 * 2 * 4 * 16 + 16 == 688
    assert layer.filters == 4 and layer.kernel_size == (3, 2) and layer.padding == "valid"


def test_mask_keeps_the_state_of_masked_steps(rng):
    x = rng.normal(size=(2, 5, 4, 4, 1))
    layer = ConvLSTM2D(2, 3, padding="same")
    weights = _random_weights(layer, rng, x.shape)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    got = layer(_t(x), mask=mask).detach().numpy()
    np.testing.assert_allclose(got[0], conv_lstm(x[:1], *weights, padding="same")[0][0], atol=1e-5)
    np.testing.assert_allclose(got[1], conv_lstm(x[1:, :3], *weights, padding="same")[0][0], atol=1e-5)
    with pytest.raises(ValueError, match=r"a mask has one entry per sample and timestep"):
        layer(_t(x), mask=torch.ones(2, 4, dtype=torch.bool))


def test_initial_state_and_stateful_continue_a_sequence(rng):
    x = rng.normal(size=(2, 6, 5, 4, 2))
    whole = ConvLSTM2D(3, 2, padding="same", return_state=True)
    weights = _random_weights(whole, rng, x.shape)
    expected, h_end, _ = [t.detach() for t in whole(_t(x))]
    _, h, c = whole(_t(x[:, :3]))
    resumed, _, _ = whole(_t(x[:, 3:]), initial_state=[h, c])
    np.testing.assert_allclose(resumed.detach().numpy(), expected.numpy(), atol=1e-5)

    stateful = ConvLSTM2D(3, 2, padding="same", stateful=True)
    stateful.ensure_built((2, 3, 5, 4, 2))
    stateful.set_weights(weights)
    stateful(_t(x[:, :3]))
    assert stateful.states[0].shape == (2, 5, 4, 3)  # channels last, as the outputs
    np.testing.assert_allclose(stateful(_t(x[:, 3:])).detach().numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(stateful.states[0].numpy(), h_end.numpy(), atol=1e-5)
    stateful.reset_states()
    np.testing.assert_allclose(
        stateful(_t(x[:, :3])).detach().numpy(), whole(_t(x[:, :3]))[0].detach().numpy(), atol=1e-6
    )
    stateful.reset_states([h_end.numpy(), np.zeros((2, 5, 4, 3))])
    assert torch.equal(stateful.states[0], h_end)
    with pytest.raises(
        ValueError, match=r"initial_state must be 2 tensors \[h, c\], each of shape \(2, 5, 4, 3\)"
    ):
        whole(_t(x), initial_state=[h.movedim(-1, 1), c])


def test_dropout_only_in_training_and_reproducible_with_seed(rng):
    x = _t(rng.normal(size=(2, 4, 5, 5, 2)))
    layer = ConvLSTM2D(2, 3, dropout=0.4, recurrent_dropout=0.3, seed=7)
    layer.ensure_built((None, 4, 5, 5, 2))
    plain = ConvLSTM2D(2, 3)
    plain.ensure_built((None, 4, 5, 5, 2))
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        layer(x, training=False).detach().numpy(), plain(x).detach().numpy(), atol=1e-6
    )
    a, b = layer(x, training=True), layer(x, training=True)
    assert not torch.allclose(a, plain(x)) and not torch.allclose(a, b)  # new masks each call
    again = ConvLSTM2D(2, 3, dropout=0.4, recurrent_dropout=0.3, seed=7)
    again.ensure_built((None, 4, 5, 5, 2))
    again.set_weights(layer.get_weights())
    torch.testing.assert_close(again(x, training=True), a)  # the seed fixes the mask sequence


def test_config_round_trip_and_keras2_path(rng):
    layer = ConvLSTM2D(
        2, (2, 3), strides=(1, 2), padding="same", return_sequences=True, dropout=0.1, unit_forget_bias=False
    )
    x = _t(rng.normal(size=(2, 3, 5, 6, 2)))
    layer.ensure_built((None, 3, 5, 6, 2))
    clone = round_trip(layer, x, rng)
    config = clone.get_config()
    assert config["filters"] == 2 and config["kernel_size"] == (2, 3) and config["strides"] == (1, 2)
    assert config["return_sequences"] and not config["unit_forget_bias"] and config["dropout"] == 0.1
    assert ConvLSTM2DFromKeras2Path is ConvLSTM2D
    # The Keras cell API on one frame equals one layer step from zero states.
    cell = layer.cell
    h0 = torch.zeros(2, 5, 3, 2)
    out, (_h, _c) = cell(x[:, 0], [h0, h0])
    single = ConvLSTM2D(2, (2, 3), strides=(1, 2), padding="same", unit_forget_bias=False)
    single.ensure_built((None, 1, 5, 6, 2))
    single.set_weights(layer.get_weights())
    np.testing.assert_allclose(out.detach().numpy(), single(x[:, :1]).detach().numpy(), atol=1e-6)


def test_conv_lstm_errors_teach():
    with pytest.raises(ValueError, match="unroll=True is not possible for convolutional recurrent layers"):
        ConvLSTM2D(2, 3, unroll=True)
    with pytest.raises(
        ValueError, match="padding must be one of 'valid', 'same'. Received: padding='causal'"
    ):
        ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        ConvLSTM2D(2, 3, dropout=1.5)
    with pytest.raises(
        TypeError, match=r"does not take input_dim=.*input_shape=\(timesteps, rows, cols, channels\)"
    ):
        ConvLSTM2D(2, 3, input_dim=4)
    with pytest.raises(
        InputShapeError, match=r"expects 5-D input \(batch, timesteps, rows, cols, channels\).*single"
    ):
        ConvLSTM2D(2, 3)(torch.zeros(2, 6, 6, 1))
    with pytest.raises(InputShapeError, match=r"padding='valid' leaves no output"):
        ConvLSTM2D(2, 5)(torch.zeros(2, 3, 4, 4, 1))
    layer = ConvLSTM2D(2, 3)
    layer(torch.zeros(2, 3, 6, 6, 1))
    with pytest.raises(InputShapeError, match="built for inputs with 1 channels"):
        layer(torch.zeros(2, 3, 6, 6, 2))
    with pytest.raises(InputShapeError, match="set return_sequences=True on 'first'"):
        Sequential([ConvLSTM2D(2, 3, name="first", input_shape=(3, 6, 6, 1)), ConvLSTM2D(2, 3)]).build()


# ---------------------------------------------------------------------------- training
_PATTERNS = {  # per-frame (row, col) offsets of a dot from a random start
    0: [(0, 0)] * 6,  # stand
    1: [(0, t) for t in range(6)],  # walk right
    2: [(-min(t, 5 - t), 0) for t in range(6)],  # jump: up, then down
    3: [(0, t % 2) for t in range(6)],  # wave: left, right, left, ...
}


def activities(n, size=8, seed=0):
    """Noisy 6-frame clips (n, 6, size, size, 1) of a dot doing one of four 'activities' anywhere in the frame."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = np.zeros((n, 6, size, size, 1), dtype="float32")
    for i, label in enumerate(y):
        r0, c0 = rng.integers(3, size), rng.integers(0, size - 5)
        for t, (dr, dc) in enumerate(_PATTERNS[label]):
            x[i, t, r0 + dr, c0 + dc, 0] = 1.0
    return x + rng.normal(scale=0.05, size=x.shape).astype("float32"), y


def test_conv_lstm2d_activity_classifier_trains():
    x, y = activities(256, seed=0)
    x_test, y_test = activities(200, seed=1)
    model = Sequential(
        [
            ConvLSTM2D(8, 3, padding="same", input_shape=x.shape[1:]),
            GlobalMaxPooling2D(),
            Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9  # measured 1.0 (chance: 0.25)


def test_bidirectional_conv_lstm2d(rng):
    x = _t(rng.normal(size=(2, 4, 5, 5, 1)))
    wrapped = Bidirectional(ConvLSTM2D(2, 3, padding="same", return_sequences=True), input_shape=(4, 5, 5, 1))
    out = wrapped(x)
    assert out.shape == (2, 4, 5, 5, 4)  # forward and backward filters side by side
    assert wrapped.compute_output_shape((None, 4, 5, 5, 1)) == (None, 4, 5, 5, 4)
    forward_weights = wrapped.get_weights()[:3]
    backward = ConvLSTM2D(2, 3, padding="same", return_sequences=True, go_backwards=True)
    backward.ensure_built((None, 4, 5, 5, 1))
    backward.set_weights(wrapped.get_weights()[3:])
    np.testing.assert_allclose(out[..., 2:].detach().numpy(), backward(x).flip(1).detach().numpy(), atol=1e-6)
    assert len(forward_weights) == 3 and wrapped.count_params() == 2 * (3 * 3 * 1 * 8 + 3 * 3 * 2 * 8 + 8)


def test_functional_model_with_conv_lstm_states_saves_and_loads(tmp_path, rng):
    import lstmkit
    from lstmkit.layers import Conv2D as Conv
    from lstmkit.layers import Input, PReLU, TimeDistributed
    from lstmkit.layers.core import ActivityRegularization  # Keras 2's path

    inputs = Input((4, 6, 6, 1))
    frames = TimeDistributed(Conv(3, 3, padding="same"))(inputs)
    _, h, _ = ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)(frames)
    pooled = GlobalMaxPooling2D()(ActivityRegularization(l2=1e-3)(h))
    model = lstmkit.Model(inputs, Dense(2, activation="softmax")(PReLU()(pooled)))
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.normal(size=(8, 4, 6, 6, 1)).astype("float32")
    model.fit(x, rng.integers(0, 2, 8), epochs=1, verbose=0)
    model.save(tmp_path / "frames.keras")
    loaded = lstmkit.models.load_model(tmp_path / "frames.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6)
