"""Independent NumPy versions of Keras 3's convolution over frames (Conv2D, N-D) and of the ConvLSTM step,
written as plain loops from Keras's documented rules. Weights in Keras's layout. Nothing here imports lstmkit.

Padding (Keras 3 = TensorFlow), per spatial axis: 'valid' none; 'same' makes ceil(size / stride) outputs and
pads max((out - 1) * stride + span - size, 0), the smaller half before.
"""

import itertools
import math

import numpy as np

from .reference import ACTIVATIONS


def _axis_plan(size, k, stride, padding, dilation):
    span = dilation * (k - 1) + 1
    if padding == "valid":
        return 0, (size - span) // stride + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, out


def conv(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """x (batch, *spatial, channels), kernel (*k, channels // groups, filters) -> (batch, *out, filters)."""
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    strides = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    dilation = (dilation_rate,) * rank if np.isscalar(dilation_rate) else tuple(dilation_rate)
    plans = [_axis_plan(x.shape[1 + a], ks[a], strides[a], padding, dilation[a]) for a in range(rank)]
    per_group, filters = kernel.shape[-2], kernel.shape[-1]
    out_per_group = filters // groups
    y = np.zeros((x.shape[0], *[p[1] for p in plans], filters))
    for out_pos in itertools.product(*[range(p[1]) for p in plans]):
        for k_pos in itertools.product(*[range(k) for k in ks]):
            src = [out_pos[a] * strides[a] - plans[a][0] + k_pos[a] * dilation[a] for a in range(rank)]
            if not all(0 <= s < x.shape[1 + a] for a, s in enumerate(src)):
                continue  # a padded (zero) position
            values = x[(slice(None), *src)]  # (batch, channels)
            for g in range(groups):
                cols = slice(g * out_per_group, (g + 1) * out_per_group)
                y[(slice(None), *out_pos, cols)] += (
                    values[:, g * per_group : (g + 1) * per_group] @ kernel[(*k_pos, slice(None), cols)]
                )
    return y if bias is None else y + bias


def pool2d(x, pool_size, strides=None, padding="valid", mode="max"):
    """x (batch, rows, cols, channels); windows that overlap the padding use their real values only."""
    strides = pool_size if strides is None else strides
    plans = [_axis_plan(x.shape[1 + a], pool_size[a], strides[a], padding, 1) for a in range(2)]
    out = np.zeros((x.shape[0], plans[0][1], plans[1][1], x.shape[3]))
    for i, j in itertools.product(range(plans[0][1]), range(plans[1][1])):
        r0, c0 = i * strides[0] - plans[0][0], j * strides[1] - plans[1][0]
        window = x[
            :,
            max(r0, 0) : min(r0 + pool_size[0], x.shape[1]),
            max(c0, 0) : min(c0 + pool_size[1], x.shape[2]),
        ]
        out[:, i, j] = window.max(axis=(1, 2)) if mode == "max" else window.mean(axis=(1, 2))
    return out


def conv_lstm(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    strides=1,
    padding="valid",
    dilation_rate=1,
    activation="tanh",
    recurrent_activation="sigmoid",
    return_sequences=False,
    go_backwards=False,
):
    """x (batch, time, *spatial, channels). Keras's ConvLSTM: the recurrent convolution always uses stride 1,
    'same' padding and no dilation. Returns (output, h, c)."""
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    h = c = None
    outputs = []
    for t in steps:
        z = conv(x[:, t], kernel, bias, strides, padding, dilation_rate)
        if h is None:
            h = c = np.zeros(z.shape[:-1] + (z.shape[-1] // 4,))
        z = z + conv(h, recurrent_kernel, None, 1, "same", 1)
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        outputs.append(h)
    return (np.stack(outputs, axis=1) if return_sequences else h), h, c
