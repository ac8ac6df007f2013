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


ACTIVATIONS = {"tanh": np.tanh, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "relu": relu,
               "linear": lambda x: x}


def dense(x, kernel, bias=None, activation="linear"):
    z = x @ kernel
    if bias is not None:
        z = z + bias
    return ACTIVATIONS[activation](z)


def lstm(x, kernel, recurrent_kernel, bias=None, activation="tanh", recurrent_activation="sigmoid",
         return_sequences=False, go_backwards=False, initial_state=None):
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
