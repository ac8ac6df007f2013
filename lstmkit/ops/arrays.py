"""``keras.ops``'s array functions: shapes (reshape, transpose, concatenate, ...), indexing, products
(matmul, dot, tensordot, einsum) and array creation. Keras 3 argument names and defaults; each is an op
(on symbolic tensors it becomes a node of a graph model)."""

from __future__ import annotations

import builtins

import numpy as np
import torch

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.ops.core import op
from lstmkit.ops.math import _axes, _torch_dtype, convert_to_tensor

__all__ = [
    "arange",
    "broadcast_to",
    "concatenate",
    "convert_to_numpy",
    "diag",
    "dot",
    "einsum",
    "expand_dims",
    "eye",
    "flip",
    "full",
    "full_like",
    "get_item",
    "linspace",
    "matmul",
    "moveaxis",
    "ones",
    "ones_like",
    "repeat",
    "reshape",
    "shape",
    "size",
    "slice",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "take",
    "tensordot",
    "tile",
    "transpose",
    "tril",
    "triu",
    "unstack",
    "zeros",
    "zeros_like",
]


def shape(x) -> tuple:
    """The shape as a tuple (None for unknown sizes of a symbolic tensor)."""
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(convert_to_tensor(x).shape)


def size(x) -> int:
    return int(np.prod(shape(x)))


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy copy of ``x`` (from any device; gradients dropped)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


@op("reshape")
def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    return convert_to_tensor(x).reshape(tuple(-1 if d is None else d for d in newshape))


@op("transpose")
def transpose(x, axes=None):
    """The axes permuted (reversed when ``axes`` is None)."""
    x = convert_to_tensor(x)
    return x.permute(*reversed(range(x.dim()))) if axes is None else x.permute(*axes)


@op("expand_dims")
def expand_dims(x, axis):
    x = convert_to_tensor(x)
    return x.unsqueeze(axis if axis >= 0 else x.dim() + 1 + axis)


@op("squeeze")
def squeeze(x, axis=None):
    x = convert_to_tensor(x)
    if axis is None:
        return x.squeeze()
    dims = _axes(axis, x.dim())
    for d in dims:
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: axis {d} has size {x.shape[d]}, not 1 (shape {tuple(x.shape)}).")
    return x.squeeze(dims)


@op("concatenate")
def concatenate(xs, axis=0):
    """The tensors joined along ``axis`` (Keras's ops default: 0)."""
    return torch.cat([convert_to_tensor(t) for t in xs], dim=axis)


@op("stack")
def stack(x, axis=0):
    return torch.stack([convert_to_tensor(t) for t in x], dim=axis)


@op("unstack")
def unstack(x, num=None, axis=0):
    return list(torch.unbind(convert_to_tensor(x), dim=axis))


@op("split")
def split(x, indices_or_sections, axis=0):
    """Equal sections (an int) or pieces cut at the given indices, along ``axis``."""
    x = convert_to_tensor(x)
    if isinstance(indices_or_sections, int):
        if x.shape[axis] % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {x.shape[axis]} does not divide into {indices_or_sections} equal sections."
            )
        return list(torch.tensor_split(x, indices_or_sections, dim=axis))
    return list(torch.tensor_split(x, list(indices_or_sections), dim=axis))


@op("repeat")
def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened tensor when None)."""
    x = convert_to_tensor(x)
    if axis is None:
        return torch.repeat_interleave(x.reshape(-1), repeats)
    return torch.repeat_interleave(x, repeats, dim=axis)


@op("tile")
def tile(x, repeats):
    return convert_to_tensor(x).tile(tuple(repeats) if isinstance(repeats, (list, tuple)) else (repeats,))


@op("broadcast_to")
def broadcast_to(x, shape):
    return convert_to_tensor(x).broadcast_to(tuple(shape))


@op("flip")
def flip(x, axis=None):
    x = convert_to_tensor(x)
    return x.flip(tuple(range(x.dim())) if axis is None else _axes(axis, x.dim()))


@op("moveaxis")
def moveaxis(x, source, destination):
    return convert_to_tensor(x).movedim(source, destination)


@op("swapaxes")
def swapaxes(x, axis1, axis2):
    return convert_to_tensor(x).transpose(axis1, axis2)


@op("get_item")
def get_item(x, key):
    """``x[key]``: what ``symbolic[:, -1]`` records in a graph."""
    return convert_to_tensor(x)[key]


@op("slice")
def slice(x, start_indices, shape):
    """The block of ``shape`` starting at ``start_indices``."""
    x = convert_to_tensor(x)
    return x[tuple(builtins.slice(s, s + n) for s, n in zip(start_indices, shape))]


@op("take")
def take(x, indices, axis=None):
    x, indices = convert_to_tensor(x), convert_to_tensor(indices).long()
    if axis is None:
        return x.reshape(-1)[indices]
    return torch.index_select(x, axis, indices.reshape(-1)).reshape(
        x.shape[:axis] + indices.shape + x.shape[axis % x.dim() + 1 :]
    )


# ---------------------------------------------------------------------------- products
@op("matmul")
def matmul(x1, x2):
    """The matrix product (batched over leading axes, as NumPy)."""
    return torch.matmul(convert_to_tensor(x1), convert_to_tensor(x2))


@op("dot")
def dot(x1, x2):
    """NumPy's dot: the sum product over the last axis of x1 and the second-to-last of x2."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if x1.dim() == 0 or x2.dim() == 0:
        return x1 * x2
    if x2.dim() == 1:
        return torch.tensordot(x1, x2, dims=([x1.dim() - 1], [0]))
    return torch.tensordot(x1, x2, dims=([x1.dim() - 1], [x2.dim() - 2]))


@op("tensordot")
def tensordot(x1, x2, axes=2):
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if isinstance(axes, (list, tuple)) and len(axes) == 2 and isinstance(axes[0], int):
        axes = ([axes[0]], [axes[1]])
    return torch.tensordot(x1, x2, dims=axes)


@op("einsum")
def einsum(subscripts, *operands):
    return torch.einsum(subscripts, *[convert_to_tensor(o) for o in operands])


# ---------------------------------------------------------------------------- making arrays
def _creation(dtype):
    return _torch_dtype(dtype) if dtype is not None else torch.get_default_dtype()


def zeros(shape, dtype=None):
    return torch.zeros(tuple(shape) if not isinstance(shape, int) else (shape,), dtype=_creation(dtype))


def ones(shape, dtype=None):
    return torch.ones(tuple(shape) if not isinstance(shape, int) else (shape,), dtype=_creation(dtype))


def full(shape, fill_value, dtype=None):
    return torch.full(
        tuple(shape) if not isinstance(shape, int) else (shape,), fill_value, dtype=_creation(dtype)
    )


def eye(N, M=None, k=0, dtype=None):
    return torch.as_tensor(np.eye(N, M, k), dtype=_creation(dtype))


def arange(start, stop=None, step=1, dtype=None):
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return torch.as_tensor(values, dtype=None if dtype is None else _torch_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    return torch.as_tensor(np.linspace(start, stop, num, endpoint=endpoint), dtype=_creation(dtype))


@op("zeros_like")
def zeros_like(x, dtype=None):
    x = convert_to_tensor(x)
    return torch.zeros_like(x, dtype=None if dtype is None else _torch_dtype(dtype))


@op("ones_like")
def ones_like(x, dtype=None):
    x = convert_to_tensor(x)
    return torch.ones_like(x, dtype=None if dtype is None else _torch_dtype(dtype))


@op("full_like")
def full_like(x, fill_value, dtype=None):
    x = convert_to_tensor(x)
    return torch.full_like(x, fill_value, dtype=None if dtype is None else _torch_dtype(dtype))


@op("tril")
def tril(x, k=0):
    return torch.tril(convert_to_tensor(x), diagonal=k)


@op("triu")
def triu(x, k=0):
    return torch.triu(convert_to_tensor(x), diagonal=k)


@op("diag")
def diag(x, k=0):
    return torch.diag(convert_to_tensor(x), diagonal=k)
