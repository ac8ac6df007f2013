"""The functional API: symbolic tensors, graph models, shared layers, sub-graphs, nested models, errors."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import layers
from lstmkit.graph import KerasTensor
from lstmkit.models import Functional, Sequential
from tests.layers import reference as ref


def test_input_and_layer_calls_are_symbolic():
    x = keras.Input((10, 3), name="seq")
    assert (
        isinstance(x, KerasTensor) and x.shape == (None, 10, 3) and x.dtype == "float32" and x.name == "seq"
    )
    assert keras.layers.Input(shape=(4,), batch_size=8).shape == (8, 4)
    assert keras.Input(batch_shape=(None, None, 2), dtype="int32").dtype == "int32"
    lstm = layers.LSTM(8, return_state=True)
    out, h, c = lstm(x)
    assert (out.shape, h.shape, c.shape) == ((None, 8), (None, 8), (None, 8))
    assert lstm.built and lstm.count_params() == 4 * 8 * (3 + 8 + 1)
    seq = layers.Bidirectional(layers.LSTM(5, return_sequences=True, return_state=True))(x)
    assert [t.shape for t in seq] == [(None, 10, 10)] + [(None, 5)] * 4
    dec = layers.LSTM(8, return_sequences=True)(keras.Input((7, 2)), initial_state=[h, c])
    assert dec.shape == (None, 7, 8)
    assert lstm.output[1] is h and lstm.input is x and lstm.output_shape == [(None, 8)] * 3
    assert lstm.input_shape == (None, 10, 3)


def test_a_symbolic_tensor_has_no_values_and_says_what_to_do():
    x = keras.Input((3,))
    with pytest.raises(TypeError, match=r"symbolic.*keras.Model\(inputs, outputs\).*model.predict"):
        np.asarray(x)
    model = keras.Model(x, layers.Dense(1)(x))
    with pytest.raises(TypeError, match="symbolic"):
        model.predict(x, verbose=0)


def test_model_takes_tensors_lists_and_dicts_and_describes_itself():
    a, b = keras.Input((5, 3), name="a"), keras.Input((4,), name="b")
    merged = layers.concatenate(
        [layers.LSTM(6, name="enc")(a), layers.Dense(2, name="side")(b)], name="joined"
    )
    first, second = layers.Dense(1, name="first")(merged), layers.Dense(2, name="second")(merged)
    model = keras.Model(inputs=[a, b], outputs=[first, second], name="two")
    assert isinstance(model, Functional) and model.name == "two"
    assert model.inputs == [a, b] and model.outputs == [first, second]
    assert model.input_names == ["a", "b"] and model.output_names == ["first", "second"]
    assert [layer.name for layer in model.layers] == ["a", "b", "enc", "side", "joined", "first", "second"]
    assert model.get_layer("enc") is model.get_layer(index=2)
    x = [np.random.rand(3, 5, 3).astype("float32"), np.random.rand(3, 4).astype("float32")]
    listed = model.predict(x, verbose=0)
    named = model.predict({"a": x[0], "b": x[1]}, verbose=0)
    assert isinstance(listed, list) and [p.shape for p in listed] == [(3, 1), (3, 2)]
    np.testing.assert_allclose(listed[1], named[1])
    by_name = keras.Model({"a": a, "b": b}, {"f": first, "s": second})
    out = by_name.predict({"b": x[1], "a": x[0]}, verbose=0)
    assert list(out) == ["f", "s"] and np.allclose(out["f"], listed[0])


def test_a_shared_layer_has_one_set_of_weights():
    shared = layers.LSTM(4, name="shared")
    left, right = keras.Input((6, 3)), keras.Input((9, 3))
    model = keras.Model([left, right], layers.subtract([shared(left), shared(right)]))
    assert model.count_params() == 4 * 4 * (3 + 4 + 1)  # one LSTM, counted once
    assert len(shared._inbound_nodes) == 2 and len(model.trainable_parameters()) == len(
        list(shared.parameters())
    )
    x = np.random.rand(2, 6, 3).astype("float32")
    same = model.predict([x, np.concatenate([np.zeros((2, 3, 3), "float32"), x], axis=1)], verbose=0)
    assert same.shape == (2, 4)


def test_feature_extraction_from_a_trained_sequential_equals_the_numpy_forward():
    model = Sequential(
        [
            layers.LSTM(5, return_sequences=True, input_shape=(4, 2), name="lstm"),
            layers.LSTM(3),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    x = np.random.rand(16, 4, 2).astype("float32")
    model.fit(x, np.random.rand(16, 1), epochs=2, verbose=0)
    extractor = keras.Model(model.input, model.get_layer("lstm").output)
    kernel, recurrent, bias = model.get_layer("lstm").get_weights()
    expected, _, _ = ref.lstm(x.astype(np.float64), kernel, recurrent, bias, return_sequences=True)
    np.testing.assert_allclose(extractor.predict(x, verbose=0), expected, atol=1e-5)
    every = keras.Model(model.inputs, [layer.output for layer in model.layers])
    assert [o.shape for o in every.predict(x, verbose=0)] == [(16, 4, 5), (16, 3), (16, 1)]
    np.testing.assert_allclose(every.predict(x, verbose=0)[-1], model.predict(x, verbose=0), atol=1e-6)


def test_models_are_layers_of_other_models():
    inner = Sequential([layers.Dense(3, activation="tanh", input_shape=(4,)), layers.Dense(2)], name="inner")
    x = keras.Input((4,))
    outer = keras.Model(x, layers.Dense(1)(inner(x)))
    assert outer.count_params() == inner.count_params() + 3
    data = np.random.rand(5, 4).astype("float32")
    hidden = inner.predict(data, verbose=0)
    w, b = outer.layers[-1].get_weights()
    np.testing.assert_allclose(outer.predict(data, verbose=0), hidden @ w + b, atol=1e-6)
    graph_inner = keras.Model(x, layers.Dense(2)(x))
    y = keras.Input((4,))
    nested = keras.Model(y, graph_inner(y))
    np.testing.assert_allclose(nested.predict(data, verbose=0), graph_inner.predict(data, verbose=0))


def test_masks_flow_through_the_graph():
    ids = keras.Input((None,), dtype="int32")
    embedded = layers.Embedding(10, 4, mask_zero=True)(ids)
    model = keras.Model(ids, layers.LSTM(3)(embedded))
    data = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0]])
    stacked = Sequential([model.layers[1], model.layers[2]])
    np.testing.assert_allclose(model.predict(data, verbose=0), stacked.predict(data, verbose=0), atol=1e-6)
    np.testing.assert_allclose(
        model.predict(data[1:, :3], verbose=0)[0], model.predict(data[1:], verbose=0)[0], atol=1e-6
    )


def test_training_true_in_a_graph_call_is_kept_for_monte_carlo_dropout():
    x = keras.Input((200,))
    model = keras.Model(x, layers.Dropout(0.5)(x, training=True))
    out = model.predict(np.ones((4, 200), "float32"), verbose=0)
    assert 0.3 < (out == 0).mean() < 0.7
    plain = keras.Model(x, layers.Dropout(0.5)(x))
    np.testing.assert_array_equal(plain.predict(np.ones((4, 200), "float32"), verbose=0), np.ones((4, 200)))


def test_errors_name_the_problem():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = layers.Dense(1)(layers.concatenate([a, b]))
    with pytest.raises(ValueError, match=r"Graph disconnected.*'b'.*Add them to inputs"):
        keras.Model(a, out)
    with pytest.raises(TypeError, match=r"symbolic tensors.*ndarray.*model.predict"):
        keras.Model(np.zeros((2, 3)), out)
    dense = layers.Dense(2, name="twice")
    with pytest.raises(ValueError, match=r"'twice'.*more than one layer"):
        keras.Model(a, layers.Dense(2, name="twice")(dense(a)))
    model = keras.Model([a, b], out)
    with pytest.raises(ValueError, match=r"2 inputs \['a', 'b'\].*list of 3 arrays"):
        model.predict([np.zeros((2, 3))] * 3, verbose=0)
    with pytest.raises(ValueError, match=r"2 inputs.*one array"):
        model.predict(np.zeros((2, 3)), verbose=0)
    with pytest.raises(ValueError, match=r"missing: \['b'\]"):
        model.predict({"a": np.zeros((2, 3))}, verbose=0)
    with pytest.raises(ValueError, match=r"Concatenate.*axis 1 differs|every other axis"):
        layers.Concatenate(axis=1)([keras.Input((3, 2)), keras.Input((3, 4))])
    seq = Sequential([layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"one input of rank 2.*graph model"):
        seq.compile("adam", "mse") or seq.fit([np.zeros((4, 3)), np.zeros((4, 3))], np.zeros(4), verbose=0)


def test_summary_lists_inputs_and_connections_as_keras_does():
    a, b = keras.Input((5, 3), name="inp"), keras.Input((5, 3), name="inp2")
    shared = layers.LSTM(3, name="shared")
    model = keras.Model([a, b], layers.add([shared(a), shared(b)], name="add"))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "inp (InputLayer)" in text
    assert (
        "inp[0][0]," in text and "inp2[0][0]" in text and "shared[0][0]," in text and "shared[1][0]" in text
    )
    assert "Total params: 84" in text and "Trainable params: 84" in text


def test_trainable_false_freezes_exactly_that_layer_and_comes_back():
    x = keras.Input((4,))
    first, norm, last = layers.Dense(3), layers.BatchNormalization(), layers.Dense(1)
    model = keras.Model(x, last(norm(first(x))))
    first.trainable = False
    model.compile("sgd", "mse")
    before = first.get_weights()
    model.fit(np.random.rand(16, 4), np.random.rand(16, 1), verbose=0)
    for old, new in zip(before, first.get_weights()):
        np.testing.assert_array_equal(old, new)
    summary = []
    model.summary(print_fn=summary.append)
    assert any(
        "Non-trainable params: 21" in line for line in summary
    )  # frozen Dense(3): 15, moving statistics: 6
    first.trainable = True
    assert all(p.requires_grad for p in first.parameters())
    assert [w.trainable for w in norm.weights] == [True, True, False, False]


def test_lambda_layers_compute_and_trace_their_shape():
    x = keras.Input((6, 3))
    last = layers.Lambda(lambda t: t[:, -1, :])(x)
    assert last.shape == (None, 3)
    scaled = layers.Lambda(lambda t, factor: t * factor, arguments={"factor": 2.0}, output_shape=(6, 3))(x)
    model = keras.Model(x, [last, scaled])
    data = np.random.rand(2, 6, 3).astype("float32")
    got = model.predict(data, verbose=0)
    np.testing.assert_allclose(got[0], data[:, -1, :])
    np.testing.assert_allclose(got[1], data * 2.0, rtol=1e-6)


def test_custom_layer_without_compute_output_shape_is_traced():
    class Summed(layers.Layer):
        def call(self, inputs):
            return inputs.sum(dim=1)

    x = keras.Input((7, 4))
    assert Summed()(x).shape == (None, 4)
    model = Sequential([layers.LSTM(5, return_sequences=True, input_shape=(7, 4)), Summed(), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    assert model.predict(np.random.rand(3, 7, 4), verbose=0).shape == (3, 2)
    assert torch.is_tensor(model(torch.zeros(1, 7, 4)))


def test_keras_1_spelling_of_model_inputs_and_outputs():
    x = keras.Input((3,))
    model = keras.Model(input=x, output=layers.Dense(2)(x))
    assert isinstance(model, Functional) and model.predict(np.zeros((1, 3)), verbose=0).shape == (1, 2)
