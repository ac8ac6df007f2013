"""Independent NumPy implementations of Keras's layer math, written from Keras's documented formulas.

Weights are in Keras's layout (what get_weights returns). Nothing here imports lstmkit.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid(x):  # Keras 3
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def relu(x):
    return np.maximum(x, 0.0)


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": relu,
    "linear": lambda x: x,
}


def dense(x, kernel, bias=None, activation="linear"):
    z = x @ kernel
    if bias is not None:
        z = z + bias
    return ACTIVATIONS[activation](z)


def lstm(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    activation="tanh",
    recurrent_activation="sigmoid",
    return_sequences=False,
    go_backwards=False,
    initial_state=None,
):
    """x: (batch, timesteps, features). Returns (output, h, c)."""
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units)) if initial_state is None else initial_state[0]
    c = np.zeros((batch, units)) if initial_state is None else initial_state[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    for t in order:
        z = x[:, t] @ kernel + h @ recurrent_kernel
        if bias is not None:
            z = z + bias
        zi, zf, zc, zo = np.split(z, 4, axis=1)
        i, f, o = rec(zi), rec(zf), rec(zo)
        c = f * c + i * act(zc)
        h = o * act(c)
        outputs.append(h)
    sequence = np.stack(outputs, axis=1)
    return (sequence if return_sequences else h), h, c


# ----------------------------------------------------------------------------- recurrent layers, general form
def lstm_step(kernel, recurrent_kernel, bias, activation="tanh", recurrent_activation="sigmoid"):
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]

    def step(x_t, states):
        h, c = states
        z = x_t @ kernel + h @ recurrent_kernel + (0 if bias is None else bias)
        zi, zf, zc, zo = np.split(z, 4, axis=1)
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        return h, [h, c]

    return step


def gru_step(
    kernel, recurrent_kernel, bias, reset_after=True, activation="tanh", recurrent_activation="sigmoid"
):
    """Keras's GRU: gate order z, r, h; bias (2, 3u) with reset_after, else (3u,)."""
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    units = recurrent_kernel.shape[0]
    if bias is None:
        input_bias, recurrent_bias = 0.0, 0.0
    elif reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, 0.0

    def step(x_t, states):
        (h,) = states
        xz, xr, xh = np.split(x_t @ kernel + input_bias, 3, axis=1)
        rk_z, rk_r, rk_h = (
            recurrent_kernel[:, :units],
            recurrent_kernel[:, units : 2 * units],
            recurrent_kernel[:, 2 * units :],
        )
        rb = np.zeros(3 * units) + recurrent_bias
        z = rec(xz + h @ rk_z + rb[:units])
        r = rec(xr + h @ rk_r + rb[units : 2 * units])
        if reset_after:
            candidate = act(xh + r * (h @ rk_h + rb[2 * units :]))
        else:
            candidate = act(xh + (r * h) @ rk_h)
        h = z * h + (1 - z) * candidate
        return h, [h]

    return step


def simple_rnn_step(kernel, recurrent_kernel, bias, activation="tanh"):
    act = ACTIVATIONS[activation]

    def step(x_t, states):
        h = act(x_t @ kernel + states[0] @ recurrent_kernel + (0 if bias is None else bias))
        return h, [h]

    return step


def run_rnn(
    step, x, states, mask=None, go_backwards=False, return_sequences=False, zero_output_for_mask=False
):
    """Keras's RNN loop. mask (batch, timesteps): masked steps keep the states and repeat the previous
    output (zeros before the first unmasked one, or always zeros with zero_output_for_mask)."""
    steps = list(range(x.shape[1]))
    if go_backwards:
        steps = steps[::-1]
    outputs, previous = [], None
    for t in steps:
        output, new_states = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            if previous is None or zero_output_for_mask:
                previous = np.zeros_like(output)
            output = np.where(keep, output, previous)
            new_states = [np.where(keep, n, o) for n, o in zip(new_states, states)]
            previous = output
        states = new_states
        outputs.append(output)
    result = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return result, states
