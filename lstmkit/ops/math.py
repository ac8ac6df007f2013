"""``keras.ops``'s NumPy-like functions on torch tensors: elementwise math, comparisons, reductions.

Arguments follow Keras 3 (``axis`` an int, a tuple or None for all axes; ``keepdims``); Python numbers and
NumPy arrays are accepted wherever tensors are. Each function is an op (lstmkit/ops/core.py): on symbolic
tensors it becomes a node of a graph model.
"""

from __future__ import annotations

import builtins

import numpy as np
import torch

from lstmkit import backend
from lstmkit.ops.core import op

__all__: list[str] = []  # filled below, one entry per op
# Note: this module defines ops named like Python builtins (max, min, sum, abs, round, any, all);
# code here that needs the builtins spells them builtins.max etc.


def convert_to_tensor(x, dtype=None, like=None):
    """``x`` as a torch tensor (numbers and arrays converted; on ``like``'s device when given)."""
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_torch_dtype(dtype))
    device = like.device if isinstance(like, torch.Tensor) else None
    if dtype is None and isinstance(like, torch.Tensor) and isinstance(x, (int, float, bool)):
        target = (
            like.dtype if (like.is_floating_point() or isinstance(x, (int, bool))) else backend.float_dtype()
        )
        return torch.as_tensor(x, dtype=target, device=device)
    if dtype is None:
        array = np.asarray(x)
        if array.dtype == np.float64:
            return torch.as_tensor(array, dtype=backend.float_dtype(), device=device)
        return torch.as_tensor(array, device=device)
    return torch.as_tensor(np.asarray(x), dtype=_torch_dtype(dtype), device=device)


def _torch_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).replace("torch.", "")
    if name == "float":
        return backend.float_dtype()
    resolved = getattr(torch, name, None)
    if not isinstance(resolved, torch.dtype):
        raise TypeError(f"Unknown dtype. Received: dtype={dtype!r}; use e.g. 'float32', 'int32' or 'bool'.")
    return resolved


def _pair(x1, x2):
    if not isinstance(x1, torch.Tensor):
        x1 = convert_to_tensor(x1, like=x2)
    if not isinstance(x2, torch.Tensor):
        x2 = convert_to_tensor(x2, like=x1)
    return x1, x2


def _axes(axis, ndim: int):
    """Keras's axis argument as torch's ``dim``: None (all), an int, or a tuple; checked against ``ndim``."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for a in axes:
        if (
            isinstance(a, bool)
            or not isinstance(a, (int, np.integer))
            or not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1)
        ):
            raise ValueError(
                f"axis={axis!r} is outside a tensor of rank {ndim}: use axes from {-ndim} to {ndim - 1} (or None for all)."
            )
    return tuple(int(a) for a in axes)


def _publish(function, name: str, doc: str) -> None:
    """Make an op built by one of the factories below a module-level function ``name`` of this module."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    globals()[name] = function
    __all__.append(name)


# ---------------------------------------------------------------------------- elementwise, two arguments
def _binary(name, torch_fn):
    @op(name)
    def function(x1, x2):
        return torch_fn(*_pair(x1, x2))

    _publish(function, name, f"Elementwise ``{name}`` of two tensors (broadcasting, as NumPy).")


for _name, _fn in {
    "add": torch.add,
    "subtract": torch.sub,
    "multiply": torch.mul,
    "divide": torch.true_divide,
    "true_divide": torch.true_divide,
    "floor_divide": torch.floor_divide,
    "mod": torch.remainder,
    "power": torch.pow,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "equal": torch.eq,
    "not_equal": torch.ne,
    "less": torch.lt,
    "less_equal": torch.le,
    "greater": torch.gt,
    "greater_equal": torch.ge,
    "logical_and": torch.logical_and,
    "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor,
    "arctan2": torch.atan2,
}.items():
    _binary(_name, _fn)


# ---------------------------------------------------------------------------- elementwise, one argument
def _unary(name, torch_fn):
    @op(name)
    def function(x):
        return torch_fn(convert_to_tensor(x))

    _publish(function, name, f"Elementwise ``{name}``.")


for _name, _fn in {
    "negative": torch.neg,
    "abs": torch.abs,
    "absolute": torch.abs,
    "square": torch.square,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "exp": torch.exp,
    "expm1": torch.expm1,
    "log": torch.log,
    "log1p": torch.log1p,
    "log2": torch.log2,
    "log10": torch.log10,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "arcsin": torch.asin,
    "arccos": torch.acos,
    "arctan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "reciprocal": torch.reciprocal,
    "logical_not": torch.logical_not,
    "isnan": torch.isnan,
    "isinf": torch.isinf,
    "isfinite": torch.isfinite,
    "erf": torch.erf,
    "stop_gradient": torch.Tensor.detach,
    "conj": torch.conj,
}.items():
    _unary(_name, _fn)


@op("clip")
def clip(x, x_min, x_max):
    """``x`` limited to [x_min, x_max]."""
    x = convert_to_tensor(x)
    low = x_min if not isinstance(x_min, torch.Tensor) else x_min.to(x.dtype)
    high = x_max if not isinstance(x_max, torch.Tensor) else x_max.to(x.dtype)
    return torch.clamp(x, low, high)


@op("where")
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with one argument, the indices where it holds."""
    condition = convert_to_tensor(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return torch.nonzero(condition, as_tuple=True)
    x1, x2 = _pair(x1, x2)
    return torch.where(condition, x1, x2)


@op("cast")
def cast(x, dtype):
    """``x`` converted to ``dtype`` ('float32', 'int32', 'bool', ...)."""
    return convert_to_tensor(x).to(_torch_dtype(dtype))


# ---------------------------------------------------------------------------- reductions
def _reduction(name, torch_fn, doc):
    @op(name)
    def function(x, axis=None, keepdims=False):
        x = convert_to_tensor(x)
        dims = _axes(axis, x.dim())
        if dims is None:
            result = torch_fn(x.reshape(-1), dim=0)
            return result.reshape((1,) * x.dim()) if keepdims else result
        return torch_fn(x, dim=dims, keepdim=keepdims)

    _publish(function, name, doc)


def _amax(x, dim, keepdim=False):
    return torch.amax(x, dim=dim, keepdim=keepdim)


def _amin(x, dim, keepdim=False):
    return torch.amin(x, dim=dim, keepdim=keepdim)


def _prod(x, dim, keepdim=False):
    dims = dim if isinstance(dim, tuple) else (dim,)
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


def _var(x, dim, keepdim=False):
    return torch.var(x, dim=dim, keepdim=keepdim, unbiased=False)


def _std(x, dim, keepdim=False):
    return torch.std(x, dim=dim, keepdim=keepdim, unbiased=False)


def _any(x, dim, keepdim=False):
    return torch.amax(x.to(torch.bool).to(torch.uint8), dim=dim, keepdim=keepdim).to(torch.bool)


def _all(x, dim, keepdim=False):
    return torch.amin(x.to(torch.bool).to(torch.uint8), dim=dim, keepdim=keepdim).to(torch.bool)


for _name, _fn, _doc in (
    ("sum", torch.sum, "The sum over ``axis`` (all axes when None)."),
    ("mean", torch.mean, "The mean over ``axis`` (all axes when None)."),
    ("max", _amax, "The maximum over ``axis`` (all axes when None)."),
    ("min", _amin, "The minimum over ``axis`` (all axes when None)."),
    ("prod", _prod, "The product over ``axis`` (all axes when None)."),
    ("var", _var, "The variance (biased, as NumPy) over ``axis``."),
    ("std", _std, "The standard deviation (biased, as NumPy) over ``axis``."),
    ("any", _any, "Whether any value over ``axis`` is true."),
    ("all", _all, "Whether every value over ``axis`` is true."),
    ("logsumexp", torch.logsumexp, "log(sum(exp(x))) over ``axis``, computed stably."),
):
    _reduction(_name, _fn, _doc)


# ---------------------------------------------------------------------------- along one axis (flattened when None)
def _arg_reduction(name, torch_fn, doc):
    @op(name)
    def function(x, axis=None, keepdims=False):
        x = convert_to_tensor(x)
        if axis is None:
            return torch_fn(x.reshape(-1))
        return torch_fn(x, dim=_axes(axis, x.dim())[0], keepdim=keepdims)

    _publish(function, name, doc)


def _cumulative(name, torch_fn, doc):
    @op(name)
    def function(x, axis=None, dtype=None):
        x = convert_to_tensor(x, dtype)
        return torch_fn(x.reshape(-1), 0) if axis is None else torch_fn(x, dim=_axes(axis, x.dim())[0])

    _publish(function, name, doc)


_arg_reduction(
    "argmax",
    torch.argmax,
    "The index of the largest value along ``axis`` (of the flattened tensor when None).",
)
_arg_reduction(
    "argmin",
    torch.argmin,
    "The index of the smallest value along ``axis`` (of the flattened tensor when None).",
)
_cumulative("cumsum", torch.cumsum, "Running sums along ``axis`` (of the flattened tensor when None).")
_cumulative("cumprod", torch.cumprod, "Running products along ``axis`` (of the flattened tensor when None).")


@op("norm")
def norm(x, ord=None, axis=None, keepdims=False):
    """The vector (or matrix) norm over ``axis``."""
    x = convert_to_tensor(x)
    return torch.linalg.norm(x, ord=ord, dim=_axes(axis, x.dim()), keepdim=keepdims)


@op("sort")
def sort(x, axis=-1):
    return torch.sort(convert_to_tensor(x), dim=axis).values


@op("argsort")
def argsort(x, axis=-1):
    return torch.argsort(convert_to_tensor(x), dim=axis)


__all__ += [
    "argsort",
    "cast",
    "clip",
    "convert_to_tensor",
    "norm",
    "sort",
    "where",
]
