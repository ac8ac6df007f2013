"""The attention layers in graph models: symbolic shapes (lists, keyword tensors, scores), masks flowing through
the graph, training, save/load round trips with identical predictions, summary() with Keras's parameter
counts, and the messages for misuse."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import layers as L
from lstmkit.models import load_model

from . import attention_reference as R

RNG = np.random.default_rng(11)


def marker_task(samples, steps=8):
    """x[..., 0] noise, x[..., 1] a one-hot marker; y = the noise value at the marked step."""
    rng = np.random.default_rng(5)
    x = np.zeros((samples, steps, 2), np.float32)
    x[..., 0] = rng.uniform(-1, 1, size=(samples, steps))
    where = rng.integers(0, steps, size=samples)
    x[np.arange(samples), where, 1] = 1.0
    return x, x[np.arange(samples), where, 0][:, None]


def test_lstm_attention_model_trains_saves_and_reloads(tmp_path):
    inputs = keras.Input((8, 2))
    sequence = L.LSTM(12, return_sequences=True)(inputs)
    context = L.Attention(use_scale=True, name="attention")([sequence, sequence])
    outputs = L.Dense(1)(L.GlobalAveragePooling1D()(context))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x, y = marker_task(128)
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.05  # predicting the mean scores 1/3: the marked step's value is found
    assert model.get_layer("attention").get_weights()[0] != 1.0
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()
    assert isinstance(loaded.get_layer("attention"), L.Attention)


def test_mha_with_keyword_tensors_and_scores_round_trips(tmp_path):
    query, value = keras.Input((5, 4), name="query"), keras.Input((6, 3), name="value")
    allowed = keras.Input((5, 6), name="allowed")  # 1/0: which value steps each query step may see
    mha = L.MultiHeadAttention(2, 3, value_dim=2, name="mha")
    attended, scores = mha(
        query, value, key=L.Dense(5)(value), attention_mask=allowed, return_attention_scores=True
    )
    model = keras.Model([query, value, allowed], [L.Dense(1)(attended), scores])
    assert [t.shape for t in model.outputs] == [(None, 5, 1), (None, 2, 5, 6)]
    node = next(e for e in model.get_config()["layers"] if e["name"] == "mha")["inbound_nodes"][0]
    assert [a["config"]["keras_history"][0] for a in node["args"]] == [
        "query",
        "value",
    ]  # positional, as called
    assert set(node["kwargs"]) == {"key", "attention_mask", "return_attention_scores"}
    x = [
        RNG.normal(size=(4, 5, 4)),
        RNG.normal(size=(4, 6, 3)),
        (RNG.random((4, 5, 6)) > 0.3).astype("float32"),
    ]
    x[2][:, :, 0] = 1.0
    want = model.predict(x, verbose=0)
    weights = mha.get_weights()
    for path in (tmp_path / "mha.keras", tmp_path / "mha.h5"):
        model.save(path)
        loaded = load_model(path)
        for got, expected in zip(loaded.predict(x, verbose=0), want):
            np.testing.assert_array_equal(got, expected)
    # The scores equal NumPy's, with the key made by the Dense layer inside the model.
    key_layer = next(layer for layer in model.layers if isinstance(layer, L.Dense) and layer.units == 5)
    key = x[1] @ key_layer.get_weights()[0] + key_layer.get_weights()[1]
    _, scores_ref = R.mha(x[0], x[1], key, weights, 2, 3, mask=x[2] > 0)
    np.testing.assert_allclose(want[1], scores_ref, atol=1e-5)
    # Other sequence lengths: shapes from each layer's compute_output_shape, scores included.
    assert model.compute_output_shape([(None, 7, 4), (None, 9, 3), (None, 7, 9)]) == [
        (None, 7, 1),
        (None, 2, 7, 9),
    ]


def test_attention_symbolic_shapes_and_keyword_form():
    q, v, k = keras.Input((5, 4)), keras.Input((7, 6)), keras.Input((7, 4))
    assert L.Attention()([q, v, k]).shape == (None, 5, 6)
    output, scores = L.AdditiveAttention()([q, v, k], return_attention_scores=True)
    assert (output.shape, scores.shape) == ((None, 5, 6), (None, 5, 7))
    assert L.Attention().compute_output_shape([(None, 5, 4), (None, 7, 4)], return_attention_scores=True) == [
        (None, 5, 4),
        (None, 5, 7),
    ]
    mha = L.MultiHeadAttention(num_heads=4, key_dim=2, output_shape=3)
    assert mha(query=q, value=v, key=k).shape == (None, 5, 3)  # all by keyword, as Keras allows
    assert mha.compute_output_shape((None, 5, 4), (None, 7, 6), return_attention_scores=True) == [
        (None, 5, 3),
        (None, 4, 5, 7),
    ]


def test_masks_flow_from_embedding_through_attention():
    tokens = keras.Input((6,), dtype="int32")
    embedded = L.Embedding(10, 4, mask_zero=True)(tokens)
    sequence = L.LSTM(5, return_sequences=True)(embedded)
    context = L.Attention()([sequence, sequence])
    mha_out = L.MultiHeadAttention(2, 3)(sequence, sequence)
    model = keras.Model(tokens, [sequence, context, mha_out])
    x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]])
    seq, ctx, mha_got = model.predict(x, verbose=0)
    mask = x != 0
    np.testing.assert_allclose(
        ctx, R.dense_attention(seq, seq, query_mask=mask, value_mask=mask)[0], atol=1e-5
    )
    mha = model.layers[-1]
    # Keras 3: the query's and value's masks combine into the attention mask (fused path).
    want = R.mha(
        seq,
        seq,
        None,
        mha.get_weights(),
        2,
        3,
        mask=mask[:, :, None] & mask[:, None, :],
        zero_masked_rows=False,
    )[0]
    np.testing.assert_allclose(mha_got, want, atol=1e-5)
    eager = model(torch.tensor(x), training=False)
    assert eager[1]._keras_mask.tolist() == mask.tolist() and eager[2]._keras_mask.tolist() == mask.tolist()


def test_summary_shows_keras_parameter_counts():
    q, v = keras.Input((5, 4)), keras.Input((7, 4))
    a = L.Attention(use_scale=True, score_mode="concat", name="dot")([q, v])
    b = L.AdditiveAttention(name="additive")([q, v])
    c = L.MultiHeadAttention(3, 2, value_dim=5, name="mha")(q, v)
    model = keras.Model([q, v], L.Concatenate()([a, b, c]))
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    text = "\n".join(lines)
    # Keras's counts: Attention scale + concat weight; AdditiveAttention scale (dim,); MultiHeadAttention
    # (dim + 1) * heads * key_dim twice, (dim + 1) * heads * value_dim, (heads * value_dim + 1) * dim.
    expected = {"dot": 2, "additive": 4, "mha": 5 * 3 * 2 * 2 + 5 * 3 * 5 + (3 * 5 + 1) * 4}
    for name, count in expected.items():
        assert model.get_layer(name).count_params() == count
        row = next(line for line in text.splitlines() if line.lstrip("│ ").startswith(name))
        assert f" {count:,} " in row
    assert f"Total params: {sum(expected.values()):,}" in text


def test_misuse_messages():
    q, v = keras.Input((5, 4)), keras.Input((7, 6))
    with pytest.raises(
        ValueError, match=r"called on a list of tensors.*Received one input of shape \(None, 5, 4\)"
    ):
        L.Attention()(q)
    with pytest.raises(ValueError, match=r"last dimensions must be equal.*\(None, 5, 4\).*\(None, 7, 6\)"):
        L.Attention()([q, v])
    with pytest.raises(ValueError, match=r"last dimensions must be equal"):
        L.AdditiveAttention()([torch.zeros(2, 5, 4), torch.zeros(2, 7, 6)])
    with pytest.raises(ValueError, match=r"Unknown Attention score_mode: 'dott'. Did you mean 'dot'"):
        L.Attention(score_mode="dott")
    with pytest.raises(ValueError, match="takes 2 or 3 inputs"):
        L.Attention()([q, q, q, q])
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\); received shape \(None, 4\)"):
        L.Attention()([keras.Input((4,)), keras.Input((4,))])
    with pytest.raises(ValueError, match="same number of timesteps"):
        L.Attention()([q, v, keras.Input((3, 4))])
    with pytest.raises(ValueError, match=r"mask=\[query_mask, value_mask\]"):
        L.Attention()([torch.zeros(2, 5, 4), torch.zeros(2, 7, 4)], mask=torch.ones(2, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="dropout must be a number between 0 and 1"):
        L.Attention(dropout=1.5)
    with pytest.raises(TypeError, match="no score_mode"):
        L.AdditiveAttention(score_mode="concat")
    with pytest.raises(ValueError, match="num_heads must be a positive integer. Received: num_heads=0"):
        L.MultiHeadAttention(0, 2)
    with pytest.raises(TypeError, match=r"called with a query and a value.*mha\(x, x\)"):
        L.MultiHeadAttention(2, 2)(q)
    with pytest.raises(TypeError, match="query_mask=, value_mask="):
        L.MultiHeadAttention(2, 2)(q, v, mask=None)
    with pytest.raises(ValueError, match="all dimensions of value and key except the last"):
        L.MultiHeadAttention(2, 2)(q, v, key=keras.Input((3, 6)))
    with pytest.raises(ValueError, match=r"attention_axes=\(3,\) must name distinct position axes"):
        L.MultiHeadAttention(2, 2, attention_axes=3)(q, v)
    with pytest.raises(ValueError, match=r"its query must be \(batch, timesteps, features\)"):
        L.MultiHeadAttention(2, 2)(keras.Input((4,)), keras.Input((4,)))
    mha = L.MultiHeadAttention(2, 2)
    mha(q, v)
    with pytest.raises(ValueError, match=r"built for a query with 4 features.*\(None, 5, 3\)"):
        mha(torch.zeros(1, 5, 3), torch.zeros(1, 7, 6))
    with pytest.raises(ValueError, match="not supported with flash_attention=True"):
        L.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(TypeError, match="unexpected keyword argument .num_head.. Did you mean .num_heads."):
        L.MultiHeadAttention(2, 2, num_head=2)


def test_keras_module_paths():
    from lstmkit.layers.attention.additive_attention import AdditiveAttention
    from lstmkit.layers.attention.attention import Attention
    from lstmkit.layers.attention.multi_head_attention import MultiHeadAttention
    from lstmkit.layers.dense_attention import Attention as Keras2Attention  # Keras 2 < 2.9
    from lstmkit.layers.multi_head_attention import MultiHeadAttention as Keras2MHA

    assert (Attention, AdditiveAttention, MultiHeadAttention) == (
        L.Attention,
        L.AdditiveAttention,
        L.MultiHeadAttention,
    )
    assert Keras2Attention is L.Attention and Keras2MHA is L.MultiHeadAttention
    assert keras.layers.MultiHeadAttention is L.MultiHeadAttention
