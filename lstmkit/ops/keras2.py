"""Keras 2's backend functions (``from keras import backend as K``: ``K.mean``, ``K.dot``, ``K.epsilon()``, ...)
on torch, with Keras 2's argument names and defaults (``K.argmax`` along the last axis, ``K.concatenate`` and
``K.expand_dims`` on axis -1). ``lstmkit.backend`` serves them: ``from lstmkit import backend as K``. Most are the
``lstmkit.ops`` functions under their Keras 2 names, so they also work on symbolic tensors.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit import activations, backend, losses
from lstmkit import ops as _ops
from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.layers.merging import batch_product
from lstmkit.ops.core import op
from lstmkit.variables import LearningRate, Variable

__all__ = [
    "abs", "all", "any", "arange", "argmax", "argmin", "batch_dot", "batch_flatten", "batch_get_value",
    "batch_set_value", "binary_crossentropy", "cast", "categorical_crossentropy", "clear_session", "clip",
    "concatenate", "constant", "cos", "count_params", "cumsum", "dot", "dtype", "elu", "equal", "eval", "exp",
    "expand_dims", "eye", "flatten", "gather", "get_value", "greater", "greater_equal", "hard_sigmoid",
    "image_data_format", "int_shape", "is_keras_tensor", "l2_normalize", "less", "less_equal", "log", "max",
    "maximum", "mean", "min", "minimum", "ndim", "not_equal", "one_hot", "ones", "ones_like", "permute_dimensions",
    "pow", "prod", "random_normal", "random_uniform", "relu", "repeat", "repeat_elements", "reshape", "round",
    "set_value", "shape", "sigmoid", "sign", "sin", "softmax", "softplus", "softsign", "sparse_categorical_crossentropy",
    "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "sum", "switch", "tanh", "tile", "transpose",
    "var", "variable", "zeros", "zeros_like",
]  # fmt: skip

# The same functions as lstmkit.ops (Keras 2 kept these names and defaults).
abs = _ops.abs
all = _ops.all
any = _ops.any
cast = _ops.cast
clip = _ops.clip
cos, sin, exp, log, sqrt, square, sign, tanh = (
    _ops.cos,
    _ops.sin,
    _ops.exp,
    _ops.log,
    _ops.sqrt,
    _ops.square,
    _ops.sign,
    _ops.tanh,
)
round = _ops.round
max, min, mean, sum, prod, std, var = _ops.max, _ops.min, _ops.mean, _ops.sum, _ops.prod, _ops.std, _ops.var
maximum, minimum = _ops.maximum, _ops.minimum
equal, not_equal, greater, greater_equal = _ops.equal, _ops.not_equal, _ops.greater, _ops.greater_equal
less, less_equal = _ops.less, _ops.less_equal
dot, reshape, stack, tile, transpose = _ops.dot, _ops.reshape, _ops.stack, _ops.tile, _ops.transpose
sigmoid, hard_sigmoid, softplus, softsign, elu = (
    _ops.sigmoid,
    _ops.hard_sigmoid,
    _ops.softplus,
    _ops.softsign,
    _ops.elu,
)
stop_gradient, zeros_like, ones_like = _ops.stop_gradient, _ops.zeros_like, _ops.ones_like
pow = _ops.power


def argmax(x, axis=-1):
    return _ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return _ops.argmin(x, axis=axis)


def cumsum(x, axis=0):
    return _ops.cumsum(x, axis=axis)


def softmax(x, axis=-1):
    return _ops.softmax(x, axis=axis)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Keras 2's ``K.relu``: the ``relu`` activation, with ``alpha`` for its ``negative_slope``."""
    return activations.relu(
        _ops.convert_to_tensor(x), negative_slope=alpha, max_value=max_value, threshold=threshold
    )


def concatenate(tensors, axis=-1):
    return _ops.concatenate(tensors, axis=axis)


def expand_dims(x, axis=-1):
    return _ops.expand_dims(x, axis)


def squeeze(x, axis):
    return _ops.squeeze(x, axis)


def permute_dimensions(x, pattern):
    return _ops.transpose(x, tuple(pattern))


def repeat_elements(x, rep, axis):
    return _ops.repeat(x, rep, axis=axis)


def repeat(x, n):
    """(batch, dim) -> (batch, n, dim)."""
    return _ops.repeat(_ops.expand_dims(x, 1), n, axis=1)


def flatten(x):
    return _ops.reshape(x, (-1,))


@op("batch_flatten")
def batch_flatten(x):
    """(batch, ...) -> (batch, everything else)."""
    return x.reshape(x.shape[0], -1)


@op("batch_dot")
def batch_dot(x, y, axes=None):
    """Keras's batchwise dot: the product over ``axes`` (one int for both, or a pair) sample by sample;
    ``(b, n)·(b, n)`` -> ``(b, 1)``."""
    x, y = _ops.convert_to_tensor(x), _ops.convert_to_tensor(y)
    if axes is None:
        axes = (x.dim() - 1, y.dim() - 2 if y.dim() > 2 else y.dim() - 1)
    a, b = (axes, axes) if isinstance(axes, int) else axes
    return batch_product(x, y, a % x.dim(), b % y.dim())


@op("gather")
def gather(reference, indices):
    return _ops.convert_to_tensor(reference)[_ops.convert_to_tensor(indices).long()]


def one_hot(indices, num_classes):
    return _ops.one_hot(indices, num_classes)


@op("l2_normalize")
def l2_normalize(x, axis=None):
    x = _ops.convert_to_tensor(x)
    dims = tuple(range(x.dim())) if axis is None else axis
    return x * torch.rsqrt(torch.clamp((x * x).sum(dim=dims, keepdim=True), min=1e-12))


@op("switch")
def switch(condition, then_expression, else_expression):
    condition = _ops.convert_to_tensor(condition).to(torch.bool)
    return torch.where(condition, *(_ops.convert_to_tensor(v) for v in (then_expression, else_expression)))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.categorical_crossentropy(target, output, from_logits=from_logits)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits)


def binary_crossentropy(target, output, from_logits=False):
    return losses.binary_crossentropy(target, output, from_logits=from_logits)


# ---------------------------------------------------------------------------- shapes, values, variables
def int_shape(x) -> tuple:
    """The shape as a tuple of ints (None where a symbolic tensor's size is unknown)."""
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(np.shape(x)) if not isinstance(x, torch.Tensor) else tuple(x.shape)


def shape(x) -> tuple:
    return int_shape(x)


def ndim(x) -> int:
    return len(int_shape(x))


def dtype(x) -> str:
    if isinstance(x, KerasTensor):
        return x.dtype
    return str(_ops.convert_to_tensor(x).dtype).replace("torch.", "")


def is_keras_tensor(x) -> bool:
    return isinstance(x, KerasTensor)


def variable(value, dtype=None, name=None, constraint=None):
    """A Variable holding ``value`` (``get_value``/``set_value``, ``assign``)."""
    tensor = _ops.convert_to_tensor(value, dtype or backend.floatx())
    return Variable(tensor.clone(), requires_grad=tensor.is_floating_point())


def constant(value, dtype=None, shape=None, name=None):
    tensor = _ops.convert_to_tensor(value, dtype or backend.floatx())
    return tensor.expand(tuple(shape)).clone() if shape is not None else tensor


def zeros(shape, dtype=None, name=None):
    return variable(np.zeros(shape), dtype)


def ones(shape, dtype=None, name=None):
    return variable(np.ones(shape), dtype)


def eye(size, dtype=None, name=None):
    return variable(np.eye(size), dtype)


def arange(start, stop=None, step=1, dtype="int32"):
    return _ops.arange(start, stop, step, dtype=dtype)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    return torch.normal(mean, stddev, tuple(shape), generator=generator).to(
        _ops.math._torch_dtype(dtype or backend.floatx())
    )


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    values = torch.rand(tuple(shape), generator=generator)
    return (minval + (maxval - minval) * values).to(_ops.math._torch_dtype(dtype or backend.floatx()))


def get_value(x):
    """The value of a variable, tensor or learning rate as NumPy (a float for a learning rate)."""
    if isinstance(x, (float, int)):
        return float(x) if isinstance(x, LearningRate) else x
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def eval(x):
    return get_value(x)


def batch_get_value(tensors) -> list:
    return [get_value(t) for t in tensors]


def set_value(x, value) -> None:
    """Give a variable (or an optimizer's learning rate: ``K.set_value(model.optimizer.lr, 0.001)``) a new value."""
    if hasattr(x, "assign"):
        x.assign(value)
        return
    if isinstance(x, torch.Tensor):
        with torch.no_grad():
            x.copy_(torch.as_tensor(np.asarray(value), dtype=x.dtype))
        return
    raise TypeError(
        f"K.set_value needs a variable, a tensor or an optimizer's learning rate; received {type(x).__name__} "
        f"{x!r:.60}. For a learning rate pass model.optimizer.learning_rate itself (or set it: "
        "model.optimizer.learning_rate = value)."
    )


def batch_set_value(pairs) -> None:
    for x, value in pairs:
        set_value(x, value)


def count_params(x) -> int:
    return int(np.prod(int_shape(x)))


def clear_session() -> None:
    """Forget the automatic layer names given so far (the next LSTM is 'lstm' again), as Keras does."""
    from lstmkit.utils import naming

    naming.reset_names()


def image_data_format() -> str:
    return "channels_last"
