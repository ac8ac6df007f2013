"""Graph models and merge layers against NumPy written here (Keras-layout weights; tests/layers/reference.py)."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import layers
from tests.layers import reference as ref

RNG = np.random.default_rng(7)


def data(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_encoder_decoder_with_states_equals_numpy():
    enc_in, dec_in = keras.Input((6, 3)), keras.Input((4, 2))
    encoder = layers.LSTM(5, return_state=True)
    _, h, c = encoder(enc_in)
    decoder = layers.LSTM(5, return_sequences=True)
    head = layers.Dense(3, activation="softmax")
    model = keras.Model([enc_in, dec_in], head(decoder(dec_in, initial_state=[h, c])))
    x_enc, x_dec = data(7, 6, 3), data(7, 4, 2)
    _, h_ref, c_ref = ref.lstm(x_enc.astype(np.float64), *encoder.get_weights())
    seq, _, _ = ref.lstm(
        x_dec.astype(np.float64), *decoder.get_weights(), return_sequences=True, initial_state=(h_ref, c_ref)
    )
    kernel, bias = head.get_weights()
    np.testing.assert_allclose(
        model.predict([x_enc, x_dec], verbose=0), softmax(seq @ kernel + bias), atol=1e-5
    )


def test_bidirectional_and_concatenate_equal_numpy():
    a, b = keras.Input((5, 3)), keras.Input((4,))
    bidi = layers.Bidirectional(layers.LSTM(4))
    side = layers.Dense(2, activation="relu")
    out = layers.Dense(1)
    model = keras.Model([a, b], out(layers.Concatenate()([bidi(a), side(b)])))
    xa, xb = data(6, 5, 3), data(6, 4)
    weights = bidi.get_weights()
    forward, _, _ = ref.lstm(xa.astype(np.float64), *weights[:3])
    backward, _, _ = ref.lstm(xa.astype(np.float64), *weights[3:], go_backwards=True)
    side_out = ref.dense(xb, *side.get_weights(), activation="relu")
    expected = ref.dense(np.concatenate([forward, backward, side_out], axis=-1), *out.get_weights())
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, atol=1e-5)


def test_multi_output_model_equals_numpy():
    x = keras.Input((5, 2))
    trunk = layers.LSTM(6, return_sequences=True)
    per_step, last = layers.TimeDistributed(layers.Dense(1)), layers.Dense(3, activation="softmax")
    sequence = trunk(x)
    model = keras.Model(
        x, {"steps": per_step(sequence), "class": last(layers.GlobalAveragePooling1D()(sequence))}
    )
    xs = data(4, 5, 2)
    seq, _, _ = ref.lstm(xs.astype(np.float64), *trunk.get_weights(), return_sequences=True)
    got = model.predict(xs, verbose=0)
    np.testing.assert_allclose(got["steps"], ref.dense(seq, *per_step.get_weights()), atol=1e-5)
    kernel, bias = last.get_weights()
    np.testing.assert_allclose(got["class"], softmax(seq.mean(axis=1) @ kernel + bias), atol=1e-5)


@pytest.mark.parametrize(
    "layer, expected",
    [
        (layers.Add(), lambda a, b, c: a + b + c),
        (layers.Average(), lambda a, b, c: (a + b + c) / 3),
        (layers.Multiply(), lambda a, b, c: a * b * c),
        (layers.Maximum(), lambda a, b, c: np.maximum(np.maximum(a, b), c)),
        (layers.Minimum(), lambda a, b, c: np.minimum(np.minimum(a, b), c)),
        (layers.Concatenate(), lambda a, b, c: np.concatenate([a, b, c], axis=-1)),
        (layers.Concatenate(axis=1), lambda a, b, c: np.concatenate([a, b, c], axis=1)),
    ],
)
def test_merge_layers_equal_numpy(layer, expected):
    a, b, c = data(3, 4, 5), data(3, 4, 5), data(3, 4, 5)
    got = layer([torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)]).numpy()
    np.testing.assert_allclose(got, expected(a, b, c), rtol=1e-6, atol=1e-6)
    symbolic = layer.__class__(**{k: v for k, v in layer.get_config().items() if k == "axis"})(
        [keras.Input((4, 5)), keras.Input((4, 5)), keras.Input((4, 5))]
    )
    assert symbolic.shape == (None,) + got.shape[1:]


def test_subtract_broadcasts_and_needs_two_inputs():
    a, b = data(3, 4), data(3, 1)
    np.testing.assert_allclose(
        layers.Subtract()([torch.from_numpy(a), torch.from_numpy(b)]).numpy(), a - b, rtol=1e-6
    )
    assert layers.subtract([keras.Input((4,)), keras.Input((1,))]).shape == (None, 4)
    with pytest.raises(ValueError, match="exactly 2 tensors"):
        layers.Subtract()([keras.Input((4,))] * 3)
    with pytest.raises(ValueError, match=r"elementwise.*axis 1 has sizes \[3, 4\]"):
        layers.Add()([keras.Input((4,)), keras.Input((3,))])
    with pytest.raises(ValueError, match="list of tensors"):
        layers.Add()(keras.Input((4,)))


@pytest.mark.parametrize(
    "shapes, axes, normalize, expected_shape",
    [
        (((3, 5), (3, 5)), 1, False, (3, 1)),
        (((3, 4, 5), (3, 6, 5)), 2, False, (3, 4, 6)),
        (((3, 4, 5), (3, 4, 2)), 1, True, (3, 5, 2)),
        (((3, 5), (3, 6, 5)), (1, 2), False, (3, 6)),
    ],
)
def test_dot_equals_numpy(shapes, axes, normalize, expected_shape):
    x, y = data(*shapes[0]), data(*shapes[1])
    got = layers.Dot(axes=axes, normalize=normalize)([torch.from_numpy(x), torch.from_numpy(y)]).numpy()
    a, b = (axes, axes) if isinstance(axes, int) else axes
    if normalize:
        x = x / np.sqrt(np.maximum((x**2).sum(axis=a, keepdims=True), 1e-14))
        y = y / np.sqrt(np.maximum((y**2).sum(axis=b, keepdims=True), 1e-14))
    expected = np.stack([np.tensordot(x[i], y[i], axes=(a - 1, b - 1)) for i in range(x.shape[0])])
    expected = expected.reshape(expected_shape)
    assert got.shape == expected_shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    symbolic = layers.dot([keras.Input(shapes[0][1:]), keras.Input(shapes[1][1:])], axes=axes)
    assert symbolic.shape == (None,) + expected_shape[1:]


def test_merged_masks_follow_keras():
    ids = keras.Input((4,), dtype="int32")
    embedded = layers.Embedding(5, 3, mask_zero=True)(ids)
    other = layers.Masking(mask_value=0.0)(keras.Input((4, 3)))
    summed, joined = layers.Add()([embedded, other]), layers.Concatenate()([embedded, other])
    sequence = keras.Model([ids, other._keras_history.layer.input], [summed, joined])
    assert len(sequence.layers) == 6
    x_ids = torch.tensor([[1, 0, 2, 0]])
    x_other = torch.tensor([[[1.0, 1, 1], [0, 0, 0], [0, 0, 0], [2, 2, 2]]])
    out_sum, out_cat = sequence([x_ids, x_other])
    # A timestep counts where any input counts (OR); Concatenate joins per timestep the same way.
    np.testing.assert_array_equal(out_sum._keras_mask.numpy(), [[True, False, True, True]])
    np.testing.assert_array_equal(out_cat._keras_mask.numpy(), [[True, False, True, True]])
