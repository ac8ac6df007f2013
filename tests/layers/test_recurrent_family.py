"""LSTM, GRU, SimpleRNN, RNN(cell) and Bidirectional against the NumPy reference, on both execution paths:
go_backwards, return_state, masks (incl. a masked first step and an all-masked row), stateful carry-over,
dropout masks, gradcheck, weight layout and configs."""

import numpy as np
import pytest
import torch

from lstmkit import regularizers
from lstmkit.layers import Dense, Layer
from lstmkit.layers.rnn import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)
from lstmkit.layers.rnn.cell import RecurrentCell
from lstmkit.models import Sequential

from .reference import gru_step, lstm_step, run_rnn, simple_rnn_step

BATCH, STEPS, FEATURES, UNITS = 4, 6, 3, 5

# (factory, reference step builder, number of states)
KINDS = {
    "lstm": (lambda units=UNITS, **kw: LSTM(units, **kw), lambda w: lstm_step(*w), 2),
    "lstm_relu": (
        lambda units=UNITS, **kw: LSTM(units, activation="relu", **kw),
        lambda w: lstm_step(*w, activation="relu"),
        2,
    ),
    "lstm_hard_sigmoid": (
        lambda units=UNITS, **kw: LSTM(units, recurrent_activation="hard_sigmoid", **kw),
        lambda w: lstm_step(*w, recurrent_activation="hard_sigmoid"),
        2,
    ),
    "gru": (lambda units=UNITS, **kw: GRU(units, **kw), lambda w: gru_step(*w), 1),
    "gru_reset_before": (
        lambda units=UNITS, **kw: GRU(units, reset_after=False, **kw),
        lambda w: gru_step(*w, reset_after=False),
        1,
    ),
    "gru_relu": (
        lambda units=UNITS, **kw: GRU(units, activation="relu", **kw),
        lambda w: gru_step(*w, activation="relu"),
        1,
    ),
    "simple_rnn": (lambda units=UNITS, **kw: SimpleRNN(units, **kw), lambda w: simple_rnn_step(*w), 1),
    "simple_rnn_relu": (
        lambda units=UNITS, **kw: SimpleRNN(units, activation="relu", **kw),
        lambda w: simple_rnn_step(*w, activation="relu"),
        1,
    ),
    "simple_rnn_sigmoid": (
        lambda units=UNITS, **kw: SimpleRNN(units, activation="sigmoid", **kw),
        lambda w: simple_rnn_step(*w, activation="sigmoid"),
        1,
    ),
}
FUSED = {"lstm", "gru", "simple_rnn", "simple_rnn_relu"}


def _mask():
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, :2] = False  # masked first steps (pre-padding)
    mask[1, 4:] = False  # post-padding
    mask[2, :] = False  # an all-masked row
    mask[3, 2] = False  # a hole
    return mask


def _built(kind, rng, **kwargs):
    layer = KINDS[kind][0](**kwargs)
    layer.ensure_built((None, STEPS, FEATURES))
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    return layer


def _t(a, dtype=torch.float32):
    return torch.tensor(a, dtype=dtype)


@pytest.fixture(params=["as_configured", "forced_generic"])
def path(request, monkeypatch):
    """Run every case on the path the configuration selects, and again with the fused kernels disabled."""
    if request.param == "forced_generic":
        monkeypatch.setattr(RecurrentCell, "fused_mode", property(lambda self: None))
        for cls in (LSTMCell, GRUCell, SimpleRNNCell):
            monkeypatch.setattr(cls, "fused_mode", property(lambda self: None))
    return request.param


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_forward_equals_numpy(kind, return_sequences, go_backwards, masked, path, rng):
    layer = _built(kind, rng, return_sequences=return_sequences, go_backwards=go_backwards, return_state=True)
    expected_path = "fused" if kind in FUSED and path == "as_configured" else "generic"
    assert layer.execution_path() == expected_path
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    mask = _mask() if masked else None
    states0 = [np.zeros((BATCH, UNITS))] * KINDS[kind][2]
    expected, states = run_rnn(
        KINDS[kind][1](layer.get_weights()), x, states0, mask, go_backwards, return_sequences
    )
    got = layer(_t(x), mask=None if mask is None else torch.tensor(mask))
    np.testing.assert_allclose(got[0].detach().numpy(), expected, atol=1e-5)
    for got_state, want in zip(got[1:], states):
        np.testing.assert_allclose(got_state.detach().numpy(), want, atol=1e-5)
    if masked:  # the all-masked row: zero output, untouched zero state
        assert not got[0][2].detach().any()


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "lstm_relu"])
def test_initial_state(kind, rng):
    layer = _built(kind, rng, return_sequences=True)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    states0 = [rng.normal(size=(BATCH, UNITS)) for _ in range(KINDS[kind][2])]
    expected, _ = run_rnn(KINDS[kind][1](layer.get_weights()), x, states0, return_sequences=True)
    got = layer(_t(x), initial_state=[_t(s) for s in states0])
    np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"initial_state must be .* received shapes \[\(4, 3\)"):
        layer(_t(x), initial_state=[torch.zeros(BATCH, 3)] * KINDS[kind][2])


@pytest.mark.parametrize("kind", ["lstm", "gru_reset_before", "simple_rnn", "lstm_relu"])
def test_stateful_carries_states_across_calls_and_resets(kind, rng):
    layer = KINDS[kind][0](stateful=True, return_sequences=True, batch_input_shape=(BATCH, STEPS, FEATURES))
    layer.ensure_built((BATCH, STEPS, FEATURES))
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    step = KINDS[kind][1](layer.get_weights())
    first, second = rng.normal(size=(2, BATCH, STEPS, FEATURES))
    zeros = [np.zeros((BATCH, UNITS))] * KINDS[kind][2]
    expected_first, carried = run_rnn(step, first, zeros, return_sequences=True)
    expected_second, _ = run_rnn(step, second, carried, return_sequences=True)
    with torch.inference_mode():  # states kept under inference mode must still work in training later
        np.testing.assert_allclose(layer(_t(first)).numpy(), expected_first, atol=1e-5)
    got_second = layer(_t(second))
    np.testing.assert_allclose(got_second.detach().numpy(), expected_second, atol=1e-5)
    got_second.sum().backward()
    layer.reset_states()
    fresh, _ = run_rnn(step, second, zeros, return_sequences=True)
    np.testing.assert_allclose(layer(_t(second)).detach().numpy(), fresh, atol=1e-5)
    with pytest.raises(
        ValueError, match=r"carries states for batches of 4 samples; received a batch of 3.*batch_size=4"
    ):
        layer(_t(second[:3]))


def test_stateful_model_fit_predict_and_batch_checks(rng):
    model = Sequential([LSTM(3, stateful=True, batch_input_shape=(2, 4, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(6, 4, 1)), rng.normal(size=(6, 1))
    model.fit(x, y, epochs=2, shuffle=False, verbose=0)  # batch_size defaults to the stateful one
    assert model.layers[0].states is not None
    with pytest.raises(
        ValueError, match=r"built for batches of 2 samples, so fit needs batch_size=2. Received: batch_size=3"
    ):
        model.fit(x, y, batch_size=3, verbose=0)
    with pytest.raises(ValueError, match=r"5 samples do not split into whole batches.*x\[:4\]"):
        model.predict(x[:5], verbose=0)
    model.reset_states()
    assert model.layers[0].states is None
    first = model.predict(x, verbose=0)
    second = model.predict(x, verbose=0)  # the states carried over from the first call change the output
    assert not np.allclose(first, second)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0), first, atol=1e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_equals_numpy(merge_mode, return_sequences, masked, rng):
    layer = Bidirectional(LSTM(UNITS, return_sequences=return_sequences), merge_mode=merge_mode)
    layer.ensure_built((None, STEPS, FEATURES))
    weights = [rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    mask = _mask() if masked else None
    zeros = [np.zeros((BATCH, UNITS))] * 2
    forward, _ = run_rnn(lstm_step(*weights[:3]), x, zeros, mask, False, return_sequences, return_sequences)
    backward, _ = run_rnn(lstm_step(*weights[3:]), x, zeros, mask, True, return_sequences, return_sequences)
    if return_sequences:
        backward = backward[:, ::-1]
    expected = {
        "concat": lambda: np.concatenate([forward, backward], -1),
        "sum": lambda: forward + backward,
        "mul": lambda: forward * backward,
        "ave": lambda: (forward + backward) / 2,
        None: lambda: [forward, backward],
    }[merge_mode]()
    got = layer(_t(x), mask=None if mask is None else torch.tensor(mask))
    if merge_mode is None:
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.detach().numpy(), e, atol=1e-5)
    else:
        np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-5)


def test_bidirectional_return_state_weights_and_counts(rng):
    layer = Bidirectional(GRU(UNITS, return_state=True), input_shape=(STEPS, FEATURES))
    layer.ensure_built((None, STEPS, FEATURES))
    assert [w.shape for w in layer.get_weights()] == [(3, 15), (5, 15), (2, 15)] * 2
    assert layer.count_params() == 2 * 3 * (UNITS * (FEATURES + UNITS) + 2 * UNITS)
    output, h_forward, h_backward = layer(_t(rng.normal(size=(BATCH, STEPS, FEATURES))))
    assert output.shape == (BATCH, 2 * UNITS)
    np.testing.assert_allclose(
        output.detach().numpy(), torch.cat([h_forward, h_backward], -1).detach().numpy()
    )
    model = Sequential(
        [
            Bidirectional(LSTM(4, return_sequences=True), input_shape=(STEPS, FEATURES)),
            Bidirectional(LSTM(3)),
            Dense(1),
        ]
    )
    assert model.output_shape == (None, 1) and model.layers[0].output_shape == (None, STEPS, 8)


def test_weight_layout_and_parameter_counts():
    cases = [
        (LSTM(UNITS), [(3, 20), (5, 20), (20,)], 4 * (UNITS * (FEATURES + UNITS) + UNITS)),
        (GRU(UNITS), [(3, 15), (5, 15), (2, 15)], 3 * (UNITS * (FEATURES + UNITS) + 2 * UNITS)),
        (GRU(UNITS, reset_after=False), [(3, 15), (5, 15), (15,)], 3 * (UNITS * (FEATURES + UNITS) + UNITS)),
        (SimpleRNN(UNITS), [(3, 5), (5, 5), (5,)], UNITS * (FEATURES + UNITS) + UNITS),
        (SimpleRNN(UNITS, use_bias=False), [(3, 5), (5, 5)], UNITS * (FEATURES + UNITS)),
    ]
    for layer, shapes, count in cases:
        layer.ensure_built((None, STEPS, FEATURES))
        assert [w.shape for w in layer.get_weights()] == shapes, type(layer).__name__
        assert layer.count_params() == count


def test_gru_bias_rows_and_gate_order_round_trip(rng):
    layer = GRU(2)
    layer.ensure_built((None, 3, 1))
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    for set_value, got in zip(weights, layer.get_weights()):
        np.testing.assert_allclose(got, set_value, rtol=1e-6)
    # Keras's update-gate (z) block is torch's second block.
    np.testing.assert_allclose(layer.cell.weight_ih[2:4].detach().numpy().T, weights[0][:, 0:2], rtol=1e-6)
    np.testing.assert_allclose(layer.cell.bias_hh[2:4].detach().numpy(), weights[2][1, 0:2], rtol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before", "simple_rnn", "lstm_relu", "gru_relu"])
def test_gradcheck_float64(kind, path):
    layer = KINDS[kind][0](units=2, return_sequences=True, dtype="float64")
    layer.ensure_built((None, 3, 2))
    names = [n for n, _ in layer.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x,))

    assert torch.autograd.gradcheck(run, (x,) + weights, eps=1e-6, atol=1e-5)


def test_gradcheck_masked_bidirectional_float64():
    layer = Bidirectional(GRU(2, return_sequences=True, dtype="float64"))
    layer.ensure_built((None, 4, 2))
    names = [n for n, _ in layer.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    mask = torch.tensor([[False, True, True, True], [True, True, False, True]])
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x,), {"mask": mask})

    assert torch.autograd.gradcheck(run, (x,) + weights, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("recurrent", [False, True])
def test_dropout_masks_follow_keras(kind, recurrent, rng, monkeypatch):
    """Known masks in place of random ones: without recurrent dropout one input mask serves every gate and
    timestep (and the fused kernel still runs); with it, each gate has its own input and recurrent mask."""
    layer = _built(kind, rng, return_sequences=True, dropout=0.4, recurrent_dropout=0.3 if recurrent else 0.0)
    gates = layer.cell.gates
    masks = {}

    def fake_bernoulli(self, shape, rate, like):
        value = torch.tensor(rng.integers(0, 2, size=shape) / (1.0 - rate), dtype=like.dtype)
        masks.setdefault(len(masks), value)
        return value

    monkeypatch.setattr(RNN, "_bernoulli", fake_bernoulli)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    layer.train()
    got = layer(_t(x)).detach().numpy()
    weights = layer.get_weights()
    order = list(layer.cell.torch_order)
    if not recurrent:
        expected, _ = run_rnn(
            KINDS[kind][1](weights),
            x * masks[0].numpy()[:, None, :],
            [np.zeros((BATCH, UNITS))] * KINDS[kind][2],
            return_sequences=True,
        )
    else:
        input_masks, recurrent_masks = masks[0].numpy(), masks[1].numpy()  # torch gate order
        keras_input = [input_masks[order.index(g)] for g in range(gates)]
        keras_recurrent = [recurrent_masks[order.index(g)] for g in range(gates)]
        expected = _reference_with_gate_masks(kind, weights, x, keras_input, keras_recurrent)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    layer.eval()  # no dropout at inference
    clean, _ = run_rnn(
        KINDS[kind][1](weights), x, [np.zeros((BATCH, UNITS))] * KINDS[kind][2], return_sequences=True
    )
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), clean, atol=1e-5)


def _reference_with_gate_masks(kind, weights, x, input_masks, recurrent_masks):
    """Keras's per-gate dropout (implementation 1), written out for each cell."""
    kernel, recurrent, bias = weights
    u = UNITS
    sig = lambda v: 1 / (1 + np.exp(-v))
    h = np.zeros((BATCH, u))
    c = np.zeros((BATCH, u))
    outputs = []
    for t in range(STEPS):
        xs = [x[:, t] * m for m in input_masks]
        hs = [h * m for m in recurrent_masks]
        if kind == "lstm":
            z = [
                xs[g] @ kernel[:, g * u : (g + 1) * u]
                + hs[g] @ recurrent[:, g * u : (g + 1) * u]
                + bias[g * u : (g + 1) * u]
                for g in range(4)
            ]
            c = sig(z[1]) * c + sig(z[0]) * np.tanh(z[2])
            h = sig(z[3]) * np.tanh(c)
        elif kind == "gru":
            xz, xr, xh = (
                xs[g] @ kernel[:, g * u : (g + 1) * u] + bias[0, g * u : (g + 1) * u] for g in range(3)
            )
            rz, rr, rh = (
                hs[g] @ recurrent[:, g * u : (g + 1) * u] + bias[1, g * u : (g + 1) * u] for g in range(3)
            )
            z, r = sig(xz + rz), sig(xr + rr)
            h = z * h + (1 - z) * np.tanh(xh + r * rh)
        else:
            h = np.tanh(xs[0] @ kernel + hs[0] @ recurrent + bias)
        outputs.append(h)
    return np.stack(outputs, 1)


class MinimalCell(Layer):
    """A user cell in the Keras style: h = tanh(x W + h U)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self._new_weight(
            (input_shape[-1], self.units), lambda s, dtype: torch.full(s, 0.3, dtype=dtype)
        )
        self.recurrent = self._new_weight(
            (self.units, self.units), lambda s, dtype: torch.eye(s[0], dtype=dtype) * 0.5
        )

    def call(self, inputs, states):
        h = torch.tanh(inputs @ self.kernel + states[0] @ self.recurrent)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_user_cell_and_stacked_cells(rng):
    x = rng.normal(size=(2, 4, 3))
    layer = RNN(MinimalCell(2), return_sequences=True)
    expected, _ = run_rnn(
        simple_rnn_step(np.full((3, 2), 0.3), np.eye(2) * 0.5, None),
        x,
        [np.zeros((2, 2))],
        return_sequences=True,
    )
    np.testing.assert_allclose(layer(_t(x)).detach().numpy(), expected, atol=1e-6)
    assert layer.execution_path() == "generic"

    stacked = RNN([LSTMCell(3), GRUCell(2)], return_sequences=True)
    stacked.ensure_built((None, 4, 3))
    weights = [rng.normal(scale=0.5, size=w.shape) for w in stacked.get_weights()]
    stacked.set_weights(weights)
    assert isinstance(stacked.cell, StackedRNNCells)
    lstm_out, _ = run_rnn(lstm_step(*weights[:3]), x, [np.zeros((2, 3))] * 2, return_sequences=True)
    gru_out, _ = run_rnn(gru_step(*weights[3:]), lstm_out, [np.zeros((2, 2))], return_sequences=True)
    np.testing.assert_allclose(stacked(_t(x)).detach().numpy(), gru_out, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LSTM(
            4,
            activation="relu",
            return_sequences=True,
            dropout=0.1,
            go_backwards=True,
            unit_forget_bias=False,
        ),
        lambda: GRU(
            4, reset_after=False, recurrent_regularizer=regularizers.l2(0.01), stateful=True, batch_size=3
        ),
        lambda: SimpleRNN(4, activation="sigmoid", return_state=True),
        lambda: Bidirectional(LSTM(4, return_sequences=True), merge_mode="sum"),
        lambda: RNN(MinimalCell(3)),
        lambda: RNN([LSTMCell(3), GRUCell(2)]),
    ],
)
def test_config_round_trip(make, rng):
    from lstmkit.layers import deserialize, serialize

    layer = make()
    layer.ensure_built((3, 5, 2))
    clone = deserialize(serialize(layer), custom_objects={"MinimalCell": MinimalCell})
    clone.ensure_built((3, 5, 2))
    config, clone_config = layer.get_config(), clone.get_config()
    for cfg in (config, clone_config):
        cfg.pop("name")
        for inner in ("layer", "cell"):
            if isinstance(cfg.get(inner), dict):
                cfg[inner]["config"].pop("name", None)
    assert type(clone) is type(layer)
    clone.set_weights(layer.get_weights())
    x = _t(rng.normal(size=(3, 5, 2)))
    layer.eval()
    clone.eval()
    out, clone_out = layer(x), clone(x)
    out = out[0] if isinstance(out, list) else out
    clone_out = clone_out[0] if isinstance(clone_out, list) else clone_out
    np.testing.assert_allclose(clone_out.detach().numpy(), out.detach().numpy(), atol=1e-6)


def test_regularization_penalty_is_added_to_the_loss(rng):
    model = Sequential(
        [
            LSTM(
                3,
                input_shape=(4, 2),
                kernel_regularizer=regularizers.l2(0.1),
                recurrent_regularizer=regularizers.l1(0.05),
            ),
            Dense(1),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(5, 4, 2)), rng.normal(size=(5, 1))
    kernel, recurrent, *_ = model.get_weights()
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    penalty = 0.1 * np.sum(kernel**2) + 0.05 * np.sum(np.abs(recurrent))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + penalty, rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\).*Received: dropout=1.5"):
        LSTM(3, dropout=1.5)
    with pytest.raises(ValueError, match=r"merge_mode must be one of .* Received: merge_mode='max'"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(TypeError, match=r"Bidirectional wraps a recurrent layer .* Received: .*Dense"):
        Bidirectional(Dense(3))
    with pytest.raises(TypeError, match=r"GRU got an unexpected keyword argument 'unit_forget_bias'"):
        GRU(3, unit_forget_bias=True)
    with pytest.raises(ValueError, match=r"units must be a positive integer. Received: units=0"):
        SimpleRNN(0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_single_timestep_from_zero_state_equals_numpy(kind, rng):
    """One timestep from zero states takes the cell's zero-state shortcut (no recurrent product)."""
    layer = KINDS[kind][0](return_state=True)
    layer.ensure_built((None, 1, FEATURES))
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    x = rng.normal(size=(BATCH, 1, FEATURES))
    expected, states = run_rnn(
        KINDS[kind][1](layer.get_weights()), x, [np.zeros((BATCH, UNITS))] * KINDS[kind][2]
    )
    got = layer(_t(x))
    np.testing.assert_allclose(got[0].detach().numpy(), expected, atol=1e-5)
    for got_state, want in zip(got[1:], states):
        np.testing.assert_allclose(got_state.detach().numpy(), want, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before", "simple_rnn"])
def test_single_timestep_gradcheck_float64(kind):
    layer = KINDS[kind][0](units=2, dtype="float64")
    layer.ensure_built((None, 1, 2))
    names = [n for n, _ in layer.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    x = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x,))

    assert torch.autograd.gradcheck(run, (x,) + weights, eps=1e-6, atol=1e-5)


def test_a_mask_of_the_wrong_shape_is_refused(rng):
    layer = _built("lstm", rng)
    x = _t(rng.normal(size=(BATCH, STEPS, FEATURES)))
    with pytest.raises(
        ValueError, match=r"shape \(batch, timesteps\) = \(4, 6\) here; received a mask of shape \(4, 5\)"
    ):
        layer(x, mask=torch.ones(BATCH, STEPS - 1, dtype=torch.bool))


def test_wrapped_layers_report_their_regularization_penalties():
    from lstmkit.layers import TimeDistributed

    bidirectional = Bidirectional(LSTM(3, kernel_regularizer=regularizers.l2(0.1)))
    bidirectional.ensure_built((None, 4, 2))
    kernels = [w for w in bidirectional.get_weights() if w.shape == (2, 12)]
    expected = sum(0.1 * np.sum(k**2) for k in kernels)
    assert float(sum(bidirectional.regularization_losses()).detach()) == pytest.approx(expected, rel=1e-5)
    stacked = RNN([LSTMCell(3, kernel_regularizer=regularizers.l1(0.2)), GRUCell(2)])
    stacked.ensure_built((None, 4, 2))
    assert float(sum(stacked.regularization_losses()).detach()) == pytest.approx(
        0.2 * np.abs(stacked.get_weights()[0]).sum(), rel=1e-5
    )
    distributed = TimeDistributed(Dense(2, kernel_regularizer=regularizers.l2(0.5)))
    distributed.ensure_built((None, 4, 3))
    assert float(sum(distributed.regularization_losses()).detach()) == pytest.approx(
        0.5 * np.sum(distributed.get_weights()[0] ** 2), rel=1e-5
    )
