"""ONNX export: onnxruntime computes what lstmkit computes, at other batch sizes and lengths than traced.

The reference is lstmkit's own ``predict``; onnxruntime runs the written file, independently of the
verification that ``to_onnx`` does itself.
"""

import warnings

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import lstmkit
from lstmkit import initializers
from lstmkit.export import OnnxExportError, to_onnx
from lstmkit.layers import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    ConvLSTM1D,
    Dense,
    Dropout,
    Embedding,
    Layer,
    SimpleRNN,
    TimeDistributed,
)
from lstmkit.models import Sequential

FEATURES = 3


def _session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ops(path) -> list[str]:
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def _data(batch, timesteps, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, timesteps, FEATURES)).astype("float32")


MODELS = {
    "lstm": lambda: Sequential([LSTM(8, input_shape=(5, FEATURES)), Dense(2)]),
    "gru": lambda: Sequential([GRU(8, input_shape=(5, FEATURES), return_sequences=True), Dense(2)]),
    "gru_reset_before": lambda: Sequential([GRU(6, reset_after=False, input_shape=(5, FEATURES)), Dense(1)]),
    "bidirectional": lambda: Sequential(
        [
            Bidirectional(LSTM(8, return_sequences=True), input_shape=(5, FEATURES)),
            Bidirectional(GRU(4)),
            Dense(1),
        ]
    ),
    "stacked": lambda: Sequential(
        [
            LSTM(8, return_sequences=True, input_shape=(5, FEATURES)),
            Dropout(0.5),  # off in the export and in the check
            LSTM(6, return_sequences=True),
            TimeDistributed(Dense(1)),
        ]
    ),
    # activation='relu' runs lstmkit's step loop, written as ONNX operators with Relu activations.
    "relu": lambda: Sequential(
        [
            LSTM(8, activation="relu", return_sequences=True, input_shape=(5, FEATURES)),
            LSTM(4, activation="relu"),
            Dense(1),
        ]
    ),
    "hard_sigmoid_backwards": lambda: Sequential(
        [
            GRU(5, recurrent_activation="hard_sigmoid", go_backwards=True, input_shape=(5, FEATURES)),
            Dense(1),
        ]
    ),
    "bidirectional_relu": lambda: Sequential(
        [Bidirectional(LSTM(4, activation="relu"), merge_mode="sum", input_shape=(5, FEATURES)), Dense(1)]
    ),
    "simple_rnn_elu": lambda: Sequential(
        [SimpleRNN(5, activation="elu", input_shape=(5, FEATURES)), Dense(1)]
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_matches_lstmkit_at_other_batch_sizes_and_lengths(name, tmp_path):
    model = MODELS[name]()
    path = tmp_path / f"{name}.onnx"
    result = to_onnx(model, path, verbose=False)
    assert result.fixed_timesteps is None and result.max_abs_error <= 1e-5
    assert {b for b, _ in result.verified_shapes} == {1, 3} and {t for _, t in result.verified_shapes} == {
        5,
        8,
    }
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["output"]
    assert session.get_inputs()[0].shape == ["batch", "timesteps", FEATURES]
    for batch, timesteps in [(2, 11), (4, 2), (1, 1)]:  # none of them the traced (2, 5)
        x = _data(batch, timesteps, seed=timesteps)
        expected = model.predict(x, verbose=0) if timesteps == 5 else model(x).detach().numpy()
        (actual,) = session.run(None, {"input": x})
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)


def test_step_loop_layers_become_recurrent_operators_not_a_traced_loop(tmp_path):
    model = MODELS["relu"]()
    assert [layer.execution_path() for layer in model.layers[:2]] == ["generic", "generic"]
    to_onnx(model, tmp_path / "relu.onnx", verbose=False)
    graph = onnx.load(str(tmp_path / "relu.onnx")).graph
    recurrent = [node for node in graph.node if node.op_type == "LSTM"]
    assert len(recurrent) == 2
    activations = [list(a.strings) for node in recurrent for a in node.attribute if a.name == "activations"]
    assert activations == [[b"Sigmoid", b"Relu", b"Relu"]] * 2
    assert "MatMul" not in [node.op_type for node in graph.node]  # only Dense's Gemm: no unrolled steps


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_states_stream_three_chunks_equal_one_call(activation, tmp_path):
    model = Sequential(
        [
            LSTM(8, activation=activation, return_sequences=True, input_shape=(None, FEATURES)),
            GRU(5, return_sequences=True),
            SimpleRNN(4, return_sequences=True),
            Dense(2),
        ]
    )
    path = tmp_path / "stream.onnx"
    result = to_onnx(model, path, states=True, verbose=False)
    names = [layer.name for layer in model.layers[:3]]
    assert result.state_input_names == [
        f"{names[0]}_h_in",
        f"{names[0]}_c_in",
        f"{names[1]}_h_in",
        f"{names[2]}_h_in",
    ]
    assert result.state_output_names == [n.replace("_in", "_out") for n in result.state_input_names]
    session = _session(path)
    x = _data(3, 12, seed=5)
    whole = model.predict(x, verbose=0)
    states = {
        name: np.zeros((3, size), "float32") for name, size in zip(result.state_input_names, (8, 8, 5, 4))
    }
    pieces = []
    for start, stop in [(0, 5), (5, 6), (6, 12)]:  # lengths 5, 1, 6
        output, *finals = session.run(None, {"input": x[:, start:stop], **states})
        pieces.append(output)
        states = dict(zip(result.state_input_names, finals))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=0, atol=1e-5)


def test_streaming_states_equal_lstmkit_return_state(tmp_path):
    model = Sequential([LSTM(6, input_shape=(None, FEATURES))])
    path = tmp_path / "last.onnx"
    result = to_onnx(model, path, states=True, verbose=False)
    x = _data(2, 9, seed=3)
    zeros = {name: np.zeros((2, 6), "float32") for name in result.state_input_names}
    output, h, c = _session(path).run(None, {"input": x, **zeros})
    reference = LSTM(6, return_state=True)
    reference(x)
    reference.set_weights(model.layers[0].get_weights())
    expected = [t.detach().numpy() for t in reference(x)]
    for actual, wanted in zip([output, h, c], expected):
        np.testing.assert_allclose(actual, wanted, rtol=0, atol=1e-5)


def test_streaming_refuses_what_cannot_stream(tmp_path):
    bidirectional = Sequential([Bidirectional(LSTM(4), input_shape=(None, FEATURES))])
    with pytest.raises(ValueError, match="Bidirectional.*whole sequence"):
        to_onnx(bidirectional, tmp_path / "b.onnx", states=True, verbose=False)
    backwards = Sequential([LSTM(4, go_backwards=True, input_shape=(None, FEATURES))])
    with pytest.raises(ValueError, match="go_backwards"):
        to_onnx(backwards, tmp_path / "g.onnx", states=True, verbose=False)
    assert not list(tmp_path.iterdir())


def test_a_time_axis_that_cannot_stay_dynamic_is_fixed_and_said(tmp_path):
    model = Sequential([LSTM(4, activation="selu", input_shape=(5, FEATURES)), Dense(1)])
    path = tmp_path / "selu.onnx"
    with pytest.warns(UserWarning, match=r"exactly 5 timesteps.*'selu'"):
        result = to_onnx(model, path, verbose=False)
    assert result.fixed_timesteps == 5
    session = _session(path)
    assert session.get_inputs()[0].shape == ["batch", 5, FEATURES]
    x = _data(2, 5)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(Exception, match="Got: 8 Expected: 5"):  # refused, never silently wrong
        session.run(None, {"input": _data(2, 8)})


def test_a_mask_fixes_the_time_axis_and_token_ids_are_int64(tmp_path):
    model = Sequential([Embedding(20, 4, mask_zero=True, input_shape=(7,)), LSTM(5), Dense(1)])
    path = tmp_path / "masked.onnx"
    with pytest.warns(UserWarning, match="receives a mask"):
        to_onnx(model, path, verbose=False)
    session = _session(path)
    ids = np.random.default_rng(0).integers(0, 20, size=(4, 7))
    ids[:, :3] = 0  # pre-padding, as pad_sequences makes it
    np.testing.assert_allclose(session.run(None, {"input": ids})[0], model.predict(ids, verbose=0), atol=1e-5)


def test_fixed_length_needs_a_known_length(tmp_path):
    model = Sequential([LSTM(4, activation="selu", input_shape=(None, FEATURES))])
    with pytest.raises(OnnxExportError, match="input_shape=\\(timesteps, features\\)"):
        to_onnx(model, tmp_path / "x.onnx", verbose=False)


class PythonLoop(Layer):
    """A layer that loops over the timesteps in Python: a trace holds one length only."""

    def call(self, inputs):
        total = inputs[:, 0]
        for t in range(1, inputs.shape[1]):
            total = total * 0.5 + inputs[:, t]
        return total


def test_a_file_that_would_compute_wrong_values_is_refused_and_not_written(tmp_path):
    model = Sequential([PythonLoop(input_shape=(None, FEATURES)), Dense(1)])
    model.build((None, 5, FEATURES))
    path = tmp_path / "loop.onnx"
    with pytest.raises(OnnxExportError, match="dynamic_time=False"):
        to_onnx(model, path, input_shape=(5, FEATURES), verbose=False)
    assert not path.exists()
    result = to_onnx(model, path, input_shape=(5, FEATURES), dynamic_time=False, verbose=False)
    assert result.fixed_timesteps == 5 and path.exists()


class MinimalCell(Layer):
    """A user-written cell (Keras's cell API): ONNX has no operator for its maths."""

    state_size = 4

    def build(self, input_shape):
        self.kernel = self._new_weight((input_shape[-1], 4), initializers.get("glorot_uniform"))

    def call(self, inputs, states):
        h = torch.tanh(inputs @ self.kernel + 0.5 * states[0])
        return h, [h]


def test_a_user_cell_fixes_the_time_axis(tmp_path):
    model = Sequential([RNN(MinimalCell(), input_shape=(4, FEATURES)), Dense(1)])
    with pytest.warns(UserWarning, match="MinimalCell"):
        result = to_onnx(model, tmp_path / "c.onnx", verbose=False)
    assert result.fixed_timesteps == 4 and result.max_abs_error <= 1e-5


def test_layers_that_move_axes_from_the_end_export(tmp_path):
    # ConvLSTM1D moves its channel axis with movedim(-1, ...), which the tracer writes as a Transpose with
    # negative axes that onnxruntime refuses: the exporter makes them positive.
    model = Sequential([ConvLSTM1D(3, 2, return_sequences=True, input_shape=(4, 6, 1)), Dense(1)])
    with pytest.warns(UserWarning, match="ConvLSTM1D|takes exactly 4 timesteps"):
        result = to_onnx(model, tmp_path / "conv_lstm.onnx", verbose=False)
    assert result.max_abs_error <= 1e-5 and result.fixed_timesteps == 4


def test_model_export_is_keras_method_and_refuses_other_formats(tmp_path, capsys):
    model = Sequential([LSTM(4, input_shape=(None, FEATURES)), Dense(1)])
    model.export(tmp_path / "m.onnx", format="onnx")
    assert "max |diff|" in capsys.readouterr().out
    model.export(str(tmp_path / "n.onnx"), verbose=False)  # format from the file name
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="cannot write that format"):
        model.export(tmp_path / "saved", format="tf_saved_model")
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(tmp_path / "saved")
    with pytest.raises(TypeError, match="unexpected keyword argument 'state'"):
        model.export(tmp_path / "m.onnx", state=True)


def test_input_signature_for_an_unbuilt_model(tmp_path):
    model = Sequential([GRU(3), Dense(1)])
    with pytest.raises(ValueError, match="input shape is unknown"):
        model.export(tmp_path / "u.onnx", verbose=False)
    result = model.export(
        tmp_path / "u.onnx", input_signature=[lstmkit.Input((None, FEATURES))], verbose=False
    )
    assert result.max_abs_error <= 1e-5


def test_export_leaves_stateful_layers_and_training_mode_alone(tmp_path):
    model = Sequential([LSTM(4, stateful=True, batch_input_shape=(2, 3, FEATURES)), Dense(1)])
    model.predict(_data(2, 3), batch_size=2, verbose=0)
    carried = [s.clone() for s in model.layers[0].states]
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the time axis stays dynamic
        to_onnx(model, tmp_path / "s.onnx", verbose=False)
    assert model.training and model.layers[0].stateful
    assert all((a == b).all() for a, b in zip(model.layers[0].states, carried))
    assert "call" not in model.layers[0].__dict__


# ---------------------------------------------------------------------- functional models
def test_functional_model_with_two_inputs_and_two_outputs_keeps_their_names(tmp_path):
    history = lstmkit.Input((None, FEATURES), name="history")
    other = lstmkit.Input((7, 2), name="other")
    forecast = Dense(1, name="forecast")(LSTM(8, activation="relu")(history))
    aux = Dense(2, name="aux")(GRU(3, return_sequences=True)(Dropout(0.5)(other)))
    model = lstmkit.Model([history, other], [forecast, aux])
    path = tmp_path / "two.onnx"
    result = to_onnx(model, path, verbose=False)
    assert result.max_abs_error <= 1e-5
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["history", "other"]
    assert [o.name for o in session.get_outputs()] == ["forecast", "aux"]
    assert session.get_inputs()[0].shape == ["batch", "history_timesteps", FEATURES]
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 13, FEATURES)).astype("float32")
    b = rng.standard_normal((2, 4, 2)).astype("float32")  # each input its own length
    expected = [t.detach().numpy() for t in model([torch.from_numpy(a), torch.from_numpy(b)])]
    for actual, wanted in zip(session.run(None, {"history": a, "other": b}), expected):
        np.testing.assert_allclose(actual, wanted, rtol=0, atol=1e-5)
    assert not any(m.training for m in model.modules())  # dropout stays off after the export


def test_encoder_decoder_exports_and_refuses_streaming(tmp_path):
    encoder_input, decoder_input = lstmkit.Input((None, 2)), lstmkit.Input((None, 2))
    _, h, c = LSTM(6, return_state=True)(encoder_input)
    decoded = LSTM(6, return_sequences=True)(decoder_input, initial_state=[h, c])
    model = lstmkit.Model([encoder_input, decoder_input], Dense(1)(decoded))
    assert to_onnx(model, tmp_path / "seq2seq.onnx", verbose=False).max_abs_error <= 1e-5
    with pytest.raises(ValueError, match="receives its initial state from another layer"):
        to_onnx(model, tmp_path / "stream.onnx", states=True, verbose=False)
