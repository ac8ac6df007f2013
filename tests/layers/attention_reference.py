"""Independent NumPy versions of Keras 3's attention layers, written from Keras's documented formulas, in
float64. Weights in Keras's layout (what get_weights returns). Nothing here imports lstmkit.

Shared rules: a score that a mask forbids is lowered (Attention: by 1e9; MultiHeadAttention: set to -1e9)
before the softmax over the key steps. MultiHeadAttention on its explicit path (scores returned, dropout, or
inputs that are not 3-D) then zeroes the forbidden weights, so a query step that may attend nothing gets
zero weights; on its fused path that step gets uniform weights.
"""

import numpy as np


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def causal(rows, cols):
    """(1, rows, cols): True where column <= row."""
    return (np.arange(cols)[None, :] <= np.arange(rows)[:, None])[None]


def dense_attention(
    query,
    value,
    key=None,
    query_mask=None,
    value_mask=None,
    causal_mask=False,
    score="dot",
    scale=None,
    concat_weight=None,
    additive_scale=None,
):
    """Attention / AdditiveAttention. Returns (output (b, Tq, dim_v), weights (b, Tq, Tv))."""
    query, value = np.asarray(query, np.float64), np.asarray(value, np.float64)
    key = value if key is None else np.asarray(key, np.float64)
    b, tq, _ = query.shape
    tv = key.shape[1]
    scores = np.zeros((b, tq, tv))
    for n in range(b):
        for i in range(tq):
            for j in range(tv):
                if score == "dot":
                    s = query[n, i] @ key[n, j]
                    scores[n, i, j] = s * (1.0 if scale is None else scale)
                elif score == "concat":
                    z = (query[n, i] + key[n, j]) * (1.0 if scale is None else scale)
                    scores[n, i, j] = concat_weight * np.tanh(z).sum()
                else:  # additive
                    t = np.tanh(query[n, i] + key[n, j])
                    scores[n, i, j] = (t * (1.0 if additive_scale is None else additive_scale)).sum()
    allowed = np.ones((b, tq, tv), bool)
    if value_mask is not None:
        allowed &= np.asarray(value_mask, bool)[:, None, :]
    if causal_mask:
        allowed &= causal(tq, tv)
    scores = np.where(allowed, scores, scores - 1e9)
    weights = softmax(scores)
    output = weights @ value
    if query_mask is not None:
        output = output * np.asarray(query_mask, bool)[:, :, None]
    return output, weights


def mha(query, value, key, weights, num_heads, key_dim, mask=None, zero_masked_rows=True, use_bias=True):
    """MultiHeadAttention on (b, T, dim) inputs. ``weights``: get_weights() (query, key, value,
    attention_output; kernel then bias each). ``mask``: (b or 1, T, S) booleans, or None.
    Returns (output (b, T, out), weights (b, heads, T, S))."""
    query, value = np.asarray(query, np.float64), np.asarray(value, np.float64)
    key = value if key is None else np.asarray(key, np.float64)
    w = [np.asarray(a, np.float64) for a in weights]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        wq, wk, wv, wo = w
        bq = bk = bv = bo = 0.0
    q = np.einsum("btd,dnk->btnk", query, wq) + bq
    k = np.einsum("bsd,dnk->bsnk", key, wk) + bk
    v = np.einsum("bsd,dnv->bsnv", value, wv) + bv
    scores = np.einsum("btnk,bsnk->bnts", q, k) / np.sqrt(key_dim)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, bool)[:, None], scores.shape)
        scores = np.where(allowed, scores, -1e9)
    probs = softmax(scores)
    if mask is not None and zero_masked_rows:
        probs = np.where(allowed, probs, 0.0)
    heads = np.einsum("bnts,bsnv->btnv", probs, v)
    output = np.tensordot(heads, wo, axes=([2, 3], [0, 1])) + bo
    return output, probs


def mha_2d(query, value, weights, num_heads, key_dim, attention_axes):
    """MultiHeadAttention on (b, X, Y, dim) inputs attending over ``attention_axes`` ((1, 2) or (2,)),
    written as explicit loops over the positions that are not attended."""
    query, value = np.asarray(query, np.float64), np.asarray(value, np.float64)
    wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(a, np.float64) for a in weights]
    q = np.tensordot(query, wq, axes=1) + bq  # (b, X, Y, n, k)
    k = np.tensordot(value, wk, axes=1) + bk
    v = np.tensordot(value, wv, axes=1) + bv
    b, x, y, n, _ = q.shape
    heads = np.zeros(q.shape[:-1] + (v.shape[-1],))
    if attention_axes == (1, 2):
        vx, vy = k.shape[1:3]
        probs = np.zeros((b, n, x, y, vx, vy))
        for i in range(b):
            for h in range(n):
                qf = q[i, :, :, h].reshape(x * y, -1)
                kf = k[i, :, :, h].reshape(vx * vy, -1)
                p = softmax(qf @ kf.T / np.sqrt(key_dim))
                probs[i, h] = p.reshape(x, y, vx, vy)
                heads[i, :, :, h] = (p @ v[i, :, :, h].reshape(vx * vy, -1)).reshape(x, y, -1)
    else:  # (2,): each row x attends within itself, along Y
        vy = k.shape[2]
        probs = np.zeros((b, x, n, y, vy))
        for i in range(b):
            for r in range(x):
                for h in range(n):
                    p = softmax(q[i, r, :, h] @ k[i, r, :, h].T / np.sqrt(key_dim))
                    probs[i, r, h] = p
                    heads[i, r, :, h] = p @ v[i, r, :, h]
    output = np.tensordot(heads, wo, axes=([3, 4], [0, 1])) + bo
    return output, probs
