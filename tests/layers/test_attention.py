"""Attention, AdditiveAttention and MultiHeadAttention against NumPy written from Keras's formulas
(tests/layers/attention_reference.py; Keras-layout weights), gradcheck in float64, masks, dropout, configs
and the messages for misuse. Real Keras's outputs: test_attention_keras.py."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import layers as L

from . import attention_reference as R

F32 = np.float32


def t(array):
    return torch.tensor(np.asarray(array))


def lengths_mask(steps, lengths):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def randomize(layer, rng):
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype(F32) for w in layer.get_weights()])


def close(got, want):
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------- Attention / AdditiveAttention
@pytest.mark.parametrize("use_scale", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_dot_equals_numpy(rng, use_scale, causal):
    q, v, k = rng.normal(size=(3, 5, 4)).astype(F32), rng.normal(size=(3, 6, 7)).astype(F32), None
    k = rng.normal(size=(3, 6, 4)).astype(F32)
    qm, vm = lengths_mask(5, [5, 3, 2]), lengths_mask(6, [6, 4, 1])
    layer = L.Attention(use_scale=use_scale)
    layer([t(q), t(v), t(k)])
    if use_scale:
        assert layer.get_weights()[0].shape == () and layer.get_weights()[0] == 1.0  # Keras: ones
        layer.set_weights([np.array(1.7, F32)])
    out, scores = layer(
        [t(q), t(v), t(k)], mask=[t(qm), t(vm)], return_attention_scores=True, use_causal_mask=causal
    )
    want_out, want_scores = R.dense_attention(q, v, k, qm, vm, causal, scale=1.7 if use_scale else None)
    close(out, want_out)
    close(scores, want_scores)
    assert out._keras_mask.tolist() == qm.tolist()  # the query's mask is the output's
    assert not hasattr(scores, "_keras_mask")


@pytest.mark.parametrize("use_scale", [False, True])
def test_attention_concat_equals_numpy(rng, use_scale):
    q, v = rng.normal(size=(2, 4, 3)).astype(F32), rng.normal(size=(2, 5, 3)).astype(F32)
    vm = lengths_mask(5, [5, 2])
    layer = L.Attention(score_mode="concat", use_scale=use_scale)
    layer([t(q), t(v)])
    assert [w.name.split("/")[-1] for w in layer.weights] == ["scale"] * use_scale + ["concat_score_weight"]
    values = [np.array(0.6, F32)] * use_scale + [np.array(1.3, F32)]
    layer.set_weights(values)
    out, scores = layer([t(q), t(v)], mask=[None, t(vm)], return_attention_scores=True)
    want_out, want_scores = R.dense_attention(
        q, v, value_mask=vm, score="concat", scale=0.6 if use_scale else None, concat_weight=1.3
    )
    close(out, want_out)
    close(scores, want_scores)


@pytest.mark.parametrize("use_scale", [True, False])
def test_additive_attention_equals_numpy(rng, use_scale):
    q, v, k = (rng.normal(size=s).astype(F32) for s in ((3, 4, 5), (3, 6, 2), (3, 6, 5)))
    qm, vm = lengths_mask(4, [4, 1, 3]), lengths_mask(6, [2, 6, 5])
    layer = L.AdditiveAttention(use_scale=use_scale)
    layer([t(q), t(v), t(k)])
    assert [w.shape for w in layer.weights] == [(5,)] * use_scale
    randomize(layer, rng)
    scale = layer.get_weights()[0] if use_scale else None
    for causal in (False, True):
        out, scores = layer(
            [t(q), t(v), t(k)], mask=[t(qm), t(vm)], return_attention_scores=True, use_causal_mask=causal
        )
        want_out, want_scores = R.dense_attention(
            q, v, k, qm, vm, causal, score="additive", additive_scale=scale
        )
        close(out, want_out)
        close(scores, want_scores)


def test_attention_takes_masks_from_its_inputs(rng):
    q, v = rng.normal(size=(2, 3, 4)).astype(F32), rng.normal(size=(2, 5, 4)).astype(F32)
    qm, vm = lengths_mask(3, [3, 1]), lengths_mask(5, [2, 5])
    query, value = t(q), t(v)
    query._keras_mask, value._keras_mask = t(qm), t(vm)
    layer = L.Attention()
    out = layer([query, value])
    close(out, R.dense_attention(q, v, query_mask=qm, value_mask=vm)[0])
    assert out._keras_mask.tolist() == qm.tolist()


def test_keras2_causal_argument_is_the_default_causal_mask(rng):
    q = rng.normal(size=(2, 4, 3)).astype(F32)
    layer = L.Attention(causal=True)
    close(layer([t(q), t(q)]), R.dense_attention(q, q, causal_mask=True)[0])
    close(layer([t(q), t(q)], use_causal_mask=False), R.dense_attention(q, q)[0])  # the call's wins
    config = layer.get_config()
    assert config["causal"] is True and "causal" not in L.Attention().get_config()
    close(L.Attention.from_config(config)([t(q), t(q)]), R.dense_attention(q, q, causal_mask=True)[0])
    keras2 = {"name": "attn", "trainable": True, "dtype": "float32", "causal": False, "dropout": 0.0}
    assert L.Attention.from_config({**keras2, "use_scale": True}).use_scale
    assert L.AdditiveAttention.from_config(keras2).use_scale


def test_attention_dropout_drops_weights_in_training_only(rng):
    q, v = rng.normal(size=(2, 6, 3)).astype(F32), rng.normal(size=(2, 8, 3)).astype(F32)
    layer = L.Attention(dropout=0.5, seed=3)
    plain = R.dense_attention(q, v)
    close(layer([t(q), t(v)]), plain[0])  # inference by default
    out, dropped = layer([t(q), t(v)], return_attention_scores=True, training=True)
    kept = dropped.numpy() != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(dropped.numpy()[kept], 2.0 * plain[1][kept], rtol=1e-5)  # scaled by 1/(1-rate)
    close(out, dropped.numpy().astype(np.float64) @ v)  # the returned weights are the ones applied (Keras)
    again = L.Attention(dropout=0.5, seed=3)([t(q), t(v)], return_attention_scores=True, training=True)[1]
    assert torch.equal(again, dropped)  # same seed, same draws


def test_attention_gradcheck_float64(rng):
    q, v, k = (
        torch.tensor(rng.normal(size=s), requires_grad=True) for s in ((2, 3, 4), (2, 4, 5), (2, 4, 4))
    )
    qm, vm = t(lengths_mask(3, [3, 2])), t(lengths_mask(4, [4, 2]))
    for layer in (
        L.Attention(use_scale=True, dtype="float64"),
        L.Attention(use_scale=True, score_mode="concat", dtype="float64"),
        L.AdditiveAttention(dtype="float64"),
    ):
        layer([q, v, k])
        randomize(layer, rng)
        names = [n for n, _ in layer.named_parameters()]
        params = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
        assert params and all(p.dtype == torch.float64 for p in params)

        def run(q, v, k, *params, layer=layer, names=names):
            kwargs = {"mask": [qm, vm], "use_causal_mask": True, "return_attention_scores": True}
            return tuple(torch.func.functional_call(layer, dict(zip(names, params)), ([q, v, k],), kwargs))

        assert torch.autograd.gradcheck(run, (q, v, k) + params, eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------------- MultiHeadAttention
def _mha_inputs(rng):
    return (
        rng.normal(size=(2, 5, 6)).astype(F32),
        rng.normal(size=(2, 4, 7)).astype(F32),
        rng.normal(size=(2, 4, 3)).astype(F32),
    )


def test_mha_weights_have_keras_layout_order_and_count(rng):
    q, v, k = _mha_inputs(rng)
    layer = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4)
    layer(t(q), t(v), t(k))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("query/kernel", (6, 3, 2)),
        ("query/bias", (3, 2)),
        ("key/kernel", (3, 3, 2)),
        ("key/bias", (3, 2)),
        ("value/kernel", (7, 3, 4)),
        ("value/bias", (3, 4)),
        ("attention_output/kernel", (3, 4, 6)),
        ("attention_output/bias", (6,)),
    ]
    heads, kd, vd = 3, 2, 4  # Keras's count: three input projections and the output projection
    assert (
        layer.count_params()
        == (6 + 1) * heads * kd + (3 + 1) * heads * kd + (7 + 1) * heads * vd + (heads * vd + 1) * 6
    )
    # Keras 3's EinsumDense draws the kernels with fans (features, heads * size): glorot's limit.
    kernel = layer.get_weights()[0]
    assert np.abs(kernel).max() <= np.sqrt(6 / (6 + 3 * 2)) and kernel.std() > 0.5 * np.sqrt(2 / (6 + 6))
    assert not layer.get_weights()[1].any()  # zeros


@pytest.mark.parametrize(
    "name, kwargs, call, masks, zero_rows",
    [
        ("key_and_scores", {}, {"return_attention_scores": True}, {}, True),
        ("attention_mask_fused", {"value_dim": 4}, {}, {"attention_mask": True}, False),
        (
            "attention_mask_scores",
            {"value_dim": 4},
            {"return_attention_scores": True},
            {"attention_mask": True},
            True,
        ),
        ("causal_input_masks", {}, {"use_causal_mask": True}, {"tensor": True}, False),
        (
            "causal_no_bias_output_shape",
            {"use_bias": False, "output_shape": (2, 3)},
            {"use_causal_mask": True},
            {},
            False,
        ),
        ("causal_scores", {}, {"use_causal_mask": True, "return_attention_scores": True}, {}, True),
    ],
)
def test_mha_equals_numpy(rng, name, kwargs, call, masks, zero_rows):
    q, v, k = _mha_inputs(rng)
    heads, key_dim = 2, 3
    layer = L.MultiHeadAttention(heads, key_dim, **kwargs)
    layer(t(q), t(v), key=t(k))
    randomize(layer, rng)
    query, value, key = t(q), t(v), t(k)
    mask = np.ones((2, 5, 4), bool)
    if masks.get("attention_mask"):
        attention_mask = rng.random((2, 5, 4)) > 0.3
        attention_mask[0, 1] = False  # a query step that may attend nothing: Keras's two paths differ here
        call = {**call, "attention_mask": t(attention_mask)}
        mask &= attention_mask
    if masks.get("tensor"):
        qm, vm, km = lengths_mask(5, [5, 3]), lengths_mask(4, [4, 3]), lengths_mask(4, [2, 4])
        query._keras_mask, value._keras_mask, key._keras_mask = t(qm), t(vm), t(km)
        mask &= qm[:, :, None] & vm[:, None, :] & km[:, None, :]
    if call.get("use_causal_mask"):
        mask &= R.causal(5, 4)
    out = layer(query, value, key=key, **call)
    outs = out if isinstance(out, list) else [out]
    want = R.mha(
        q,
        v,
        k,
        layer.get_weights(),
        heads,
        key_dim,
        mask=mask,
        zero_masked_rows=zero_rows,
        use_bias=kwargs.get("use_bias", True),
    )
    close(outs[0], want[0])
    assert outs[0].shape == (2, 5) + kwargs.get("output_shape", (6,))
    if call.get("return_attention_scores"):
        close(outs[1], want[1])
    if masks.get("tensor"):
        assert outs[0]._keras_mask.tolist() == qm.tolist()  # the query's mask is the output's


@pytest.mark.parametrize(
    "attention_axes, value_shape, axes",
    [(None, None, (1, 2)), ((2,), (2, 3, 2, 5), (2,)), (-2, (2, 3, 2, 5), (2,)), (1, (2, 2, 4, 5), (1,))],
)
def test_mha_attention_axes_equal_numpy(rng, attention_axes, value_shape, axes):
    q = rng.normal(size=(2, 3, 4, 5)).astype(F32)
    v = q if value_shape is None else rng.normal(size=value_shape).astype(F32)
    layer = L.MultiHeadAttention(2, 3, attention_axes=attention_axes)
    layer(t(q), t(v))
    randomize(layer, rng)
    out, scores = layer(t(q), t(v), return_attention_scores=True)
    if axes == (1,):  # attend along X within each column y: the (2,) case with X and Y swapped
        want = R.mha_2d(q.swapaxes(1, 2), v.swapaxes(1, 2), layer.get_weights(), 2, 3, (2,))
        want = (want[0].swapaxes(1, 2), want[1])
    else:
        want = R.mha_2d(q, v, layer.get_weights(), 2, 3, axes)
    close(out, want[0])
    close(scores, want[1])
    assert layer.get_config()["attention_axes"] == axes  # resolved at build, as Keras
    symbolic = L.MultiHeadAttention(2, 3, attention_axes=attention_axes)(
        keras.Input(q.shape[1:]), keras.Input(v.shape[1:]), return_attention_scores=True
    )
    assert [s.shape for s in symbolic] == [(None, *out.shape[1:]), (None, *scores.shape[1:])]


def test_mha_dropout_in_training_only_and_scores_before_dropout(rng):
    q, v, _ = _mha_inputs(rng)
    layer = L.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    inference, scores = layer(t(q), t(v), return_attention_scores=True)
    close(inference, R.mha(q, v, None, layer.get_weights(), 2, 3)[0])
    trained, trained_scores = layer(t(q), t(v), return_attention_scores=True, training=True)
    assert not torch.allclose(trained, inference)
    close(trained_scores, scores.detach().numpy())  # Keras returns the weights before dropout
    assert torch.allclose(trained_scores.sum(-1), torch.ones(()))


def test_mha_gradcheck_float64(rng):
    q, v = (torch.tensor(rng.normal(size=s), requires_grad=True) for s in ((2, 3, 4), (2, 4, 5)))
    attention_mask = t(rng.random((2, 3, 4)) > 0.3)
    layer = L.MultiHeadAttention(2, 2, value_dim=3, use_gate=True, dtype="float64")
    layer(q, v)
    randomize(layer, rng)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    assert len(params) == 10 and all(p.dtype == torch.float64 for p in params)
    for call in (
        {},
        {"use_causal_mask": True},
        {"attention_mask": attention_mask, "return_attention_scores": True},
    ):

        def run(q, v, *params, call=call):
            out = torch.func.functional_call(layer, dict(zip(names, params)), (q, v), call)
            return tuple(out) if isinstance(out, list) else out

        assert torch.autograd.gradcheck(run, (q, v) + params, eps=1e-6, atol=1e-5)


def test_mha_config_round_trip_and_keras2_build_shapes(rng):
    q, v, k = _mha_inputs(rng)
    layer = L.MultiHeadAttention(
        2, 3, value_dim=4, dropout=0.1, output_shape=5, kernel_regularizer="l2", use_gate=True, seed=7
    )
    layer(t(q), t(v), t(k))
    config = layer.get_config()
    assert config["output_shape"] == (5,) and config["attention_axes"] == (1,)
    clone = L.MultiHeadAttention.from_config(config)
    assert clone.get_config() == config
    clone(t(q), t(v), t(k))
    clone.set_weights(layer.get_weights())
    assert torch.equal(clone(t(q), t(v), t(k)), layer(t(q), t(v), t(k)))
    assert len(layer.losses) == 5 and all(
        loss > 0 for loss in layer.losses
    )  # l2 on query/key/gate/value/output
    # Keras 2 configs record the build shapes; the layer is built from them (weights ready to load).
    keras2 = {
        "name": "mha",
        "num_heads": 2,
        "key_dim": 3,
        "query_shape": [None, 5, 6],
        "value_shape": [None, 4, 7],
    }
    built = L.MultiHeadAttention.from_config(keras2)
    assert (
        built.built and built.count_params() == 180
    )  # Keras's summary for these shapes (query, key, value, output)
    assert built(t(q), t(v)).shape == (2, 5, 6)


def test_build_then_set_weights_keeps_them(rng):
    """Keras's pattern: build(shapes), set_weights(...), then call — the call must not remake the weights."""
    q, v, k = _mha_inputs(rng)
    mha = L.MultiHeadAttention(2, 3)
    mha.build(q.shape, v.shape, k.shape)
    weights = [rng.normal(size=w.shape).astype(F32) for w in mha.get_weights()]
    mha.set_weights(weights)
    close(mha(t(q), t(v), t(k)), R.mha(q, v, k, weights, 2, 3)[0])
    attention = L.Attention(use_scale=True)
    attention.build([(None, 5, 6), (None, 4, 6)])
    attention.set_weights([np.array(0.5, F32)])
    close(attention([t(q), t(q[:, :4])]), R.dense_attention(q, q[:, :4], scale=0.5)[0])
    assert len(attention.weights) == 1


def test_mha_activity_regularizer_and_constraints_act_on_the_projections(rng):
    q, v, _ = _mha_inputs(rng)
    layer = L.MultiHeadAttention(2, 3, activity_regularizer=keras.regularizers.L2(0.1))
    out = layer(t(q), t(v))
    projected = [  # Keras: each EinsumDense penalises its own output per sample; the layer's output is not
        np.einsum("btd,dnk->btnk", x, w) + b
        for x, (w, b) in zip((q, v, v), zip(layer.get_weights()[0:6:2], layer.get_weights()[1:6:2]))
    ]
    assert len(layer.losses) == 4  # query, key, value and output projections
    for loss, z in zip(layer.losses, [*projected, out.detach().numpy()]):
        np.testing.assert_allclose(loss.item(), 0.1 * (z.astype(np.float64) ** 2).sum() / 2, rtol=1e-5)
    assert layer.get_config()["activity_regularizer"]["class_name"] == "L2"
    assert L.MultiHeadAttention(2, 3).get_config()["activity_regularizer"] is None
    # kernel_constraint: applied to every projection's kernel after each update, in Keras's layout.
    query, value = keras.Input((5, 6)), keras.Input((4, 7))
    mha = L.MultiHeadAttention(2, 3, kernel_constraint=keras.constraints.MaxNorm(0.5))
    model = keras.Model([query, value], L.GlobalAveragePooling1D()(mha(query, value)))
    model.compile("sgd", "mse")
    model.fit([q, v], np.ones((2, 6)), epochs=1, verbose=0)
    for weight in mha.weights:
        if weight.name.endswith("kernel"):
            assert np.sqrt((weight.numpy() ** 2).sum(axis=0)).max() <= 0.5 + 1e-6
    assert mha.get_config()["kernel_constraint"]["class_name"] == "MaxNorm"
