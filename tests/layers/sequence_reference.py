"""Independent NumPy versions of Keras 3's sequence-layer math (convolution, pooling), written as plain
loops from Keras's documented rules. Weights in Keras's layout. Nothing here imports lstmkit.

Padding (Keras 3 = TensorFlow): 'valid' none; 'same' makes ceil(steps / strides) outputs and pads
max((out - 1) * strides + span - steps, 0) steps, the smaller half before; 'causal' pads span - 1 before.
"""

import math

import numpy as np


def _pads(steps, span, stride, padding):
    if padding == "valid":
        return 0, 0, (steps - span) // stride + 1
    if padding == "causal":
        return span - 1, 0, math.ceil(steps / stride)
    out = math.ceil(steps / stride)
    total = max((out - 1) * stride + span - steps, 0)
    return total // 2, total - total // 2, out


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """x (batch, steps, channels), kernel (k, channels // groups, filters) -> (batch, new_steps, filters)."""
    batch, steps, _ = x.shape
    k, per_group, filters = kernel.shape
    span = dilation_rate * (k - 1) + 1
    left, _, out_steps = _pads(steps, span, strides, padding)
    out_per_group = filters // groups
    y = np.zeros((batch, out_steps, filters))
    for t in range(out_steps):
        start = t * strides - left
        for j in range(k):
            s = start + j * dilation_rate
            if not 0 <= s < steps:
                continue  # a padded (zero) step
            for g in range(groups):
                xs = x[:, s, g * per_group : (g + 1) * per_group]
                cols = slice(g * out_per_group, (g + 1) * out_per_group)
                y[:, t, cols] += xs @ kernel[j, :, cols]
    if bias is not None:
        y = y + bias
    return y


def pool1d(x, pool_size, strides=None, padding="valid", mode="max"):
    """x (batch, steps, channels); windows that overlap the padding use their real steps only."""
    strides = pool_size if strides is None else strides
    steps = x.shape[1]
    left, _, out_steps = _pads(steps, pool_size, strides, padding)
    out = []
    for t in range(out_steps):
        start = t * strides - left
        window = x[:, max(start, 0) : min(start + pool_size, steps)]
        out.append(window.max(axis=1) if mode == "max" else window.mean(axis=1))
    return np.stack(out, axis=1)


def output_steps(steps, span, stride, padding):
    return _pads(steps, span, stride, padding)[2]
