"""Activation functions with Keras 3's names, defaults and math.

Every function maps a tensor of any shape to a tensor of the same shape. ``sigmoid`` and
``softmax`` remember their input on the output (``out._keras_logits``) so that a crossentropy
loss right after them can work from the logits: this is what keeps saturated outputs from
producing NaN or inf, exactly as Keras does on its TensorFlow backend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit.utils.naming import lookup

__all__ = [
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's relu: ``x`` above ``threshold``, ``negative_slope * (x - threshold)`` below,
    capped at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    below = negative_slope * (x - threshold) if negative_slope else torch.zeros_like(x)
    out = torch.where(x > threshold, x, below)
    return out if max_value is None else torch.clamp(out, max=max_value)


def relu6(x):
    return F.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    return F.elu(x, alpha)


def selu(x):
    return F.selu(x)


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def sigmoid(x):
    out = torch.sigmoid(x)
    out._keras_logits = x
    return out


def hard_sigmoid(x):
    """Keras 3: ``relu6(x + 3) / 6`` (Keras 2 used ``clip(0.2x + 0.5, 0, 1)``)."""
    return F.relu6(x + 3.0) / 6.0


def tanh(x):
    return torch.tanh(x)


def softmax(x, axis=-1):
    out = torch.softmax(x, dim=axis)
    if axis == -1 or axis == x.dim() - 1:
        out._keras_logits = x
    return out


def log_softmax(x, axis=-1):
    return torch.log_softmax(x, dim=axis)


def softplus(x):
    return F.softplus(x)


def softsign(x):
    return F.softsign(x)


def silu(x):
    return F.silu(x)


swish = silu


def hard_silu(x):
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x):
    return F.mish(x)


def exponential(x):
    return torch.exp(x)


_BY_NAME = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "softplus": softplus,
    "softsign": softsign,
    "swish": swish,
    "silu": silu,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "mish": mish,
    "exponential": exponential,
}
_NAME_OF = {fn: name for name, fn in _BY_NAME.items() if name not in ("swish", "hard_swish")}

# The element-wise math above without the logits bookkeeping, for code that calls an activation
# many times per batch (recurrent steps), where the attribute would only cost time.
_RAW = {sigmoid: torch.sigmoid, tanh: torch.tanh, relu: torch.relu, linear: linear}


def get(identifier):
    """An activation function from a name, a callable, a serialized dict, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return lookup("activation", identifier, _BY_NAME)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret activation {identifier!r} (type {type(identifier).__name__}). "
        "Pass a name such as 'relu', a callable, or None."
    )


def raw(fn):
    """``fn`` without the ``_keras_logits`` bookkeeping, for use inside recurrent steps."""
    return _RAW.get(fn, fn)


def serialize(fn):
    """The name of a built-in activation, else the callable's ``__name__``."""
    if fn in _NAME_OF:
        return _NAME_OF[fn]
    return getattr(fn, "__name__", repr(fn))


def deserialize(config, custom_objects=None):
    """An activation from its saved form: a name, or a dict (Keras 3 writes ``{"class_name": "function",
    "config": "relu", ...}``; others name it in ``class_name``). An unknown name is an error, never linear."""
    if isinstance(config, dict):
        inner, class_name = config.get("config"), config.get("class_name")
        if isinstance(inner, str):
            config = inner
        elif isinstance(class_name, str) and class_name != "function":
            config = class_name
        else:
            raise ValueError(
                f"Could not interpret the activation config {str(config)[:200]}: it names no activation. "
                "Expected a name such as 'relu' or {'class_name': 'function', 'config': 'relu'}."
            )
    if custom_objects and isinstance(config, str) and config in custom_objects:
        return custom_objects[config]
    if config is None or isinstance(config, dict):
        raise ValueError(f"Could not interpret the activation config {config!r}.")
    return get(config)
