"""Merge layers: combine a list of tensors into one — ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``,
``Average``, ``Maximum``, ``Minimum``, ``Dot`` — and their functional forms (``concatenate([a, b])``, ...).

Input: a list of tensors ``(batch, ...)``. The elementwise layers take equal shapes (axes of size 1
broadcast; a lower-rank input gets size-1 axes after the batch axis, as in Keras); ``Concatenate`` equal
shapes except along ``axis``; ``Dot`` two tensors and the axes to contract. Masks follow Keras: the
elementwise layers OR their inputs' masks (a timestep counts if any input counts); ``Concatenate`` joins
them; ``Dot`` drops them.
"""

from __future__ import annotations

import torch

from lstmkit.layers.base import Layer, format_shape
from lstmkit.utils.checks import check_int

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


def _shapes_list(layer, input_shape, at_least: int = 1, exactly: int | None = None) -> list:
    if not isinstance(input_shape, (list, tuple)) or not all(
        isinstance(s, (list, tuple)) for s in input_shape
    ):
        raise ValueError(
            f"A {type(layer).__name__} layer is called on a list of tensors, e.g. {type(layer).__name__}()([a, b]). "
            f"Received one input of shape {format_shape(input_shape)}."
        )
    count = len(input_shape)
    if (exactly is not None and count != exactly) or count < at_least:
        wanted = f"exactly {exactly}" if exactly is not None else f"at least {at_least}"
        raise ValueError(
            f"A {type(layer).__name__} layer is called on {wanted} tensors. Received {count}: "
            f"{[format_shape(s) for s in input_shape]}."
        )
    return [tuple(s) for s in input_shape]


class Merge(Layer):
    """Base of the elementwise merge layers: checks and broadcasts shapes, ORs masks."""

    supports_masking = True
    exact_inputs: int | None = None

    def _broadcast(self, shapes) -> tuple:
        """The common per-sample shape (batch axis excluded), or a ValueError naming the clash."""
        ndim = max(len(s) for s in shapes)
        padded = [(s[0],) + (1,) * (ndim - len(s)) + tuple(s[1:]) for s in shapes]
        result = []
        for axis in range(1, ndim):
            sizes = {s[axis] for s in padded} - {1}
            known = sizes - {None}
            if len(known) > 1:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) merges tensors elementwise, so their shapes must "
                    f"agree (axes of size 1 broadcast). Received shapes {[format_shape(s) for s in shapes]}: axis "
                    f"{axis} has sizes {sorted(known)}."
                )
            result.append(known.pop() if known else (None if None in sizes else 1))
        return tuple(result)

    def build(self, input_shape):
        shapes = _shapes_list(self, input_shape, exactly=self.exact_inputs)
        batches = {s[0] for s in shapes} - {None}
        if len(batches) > 1:
            raise ValueError(
                f"Layer '{self.name}' cannot merge tensors with different batch sizes: {shapes}."
            )
        self._broadcast(shapes)

    def compute_output_shape(self, input_shape):
        shapes = _shapes_list(self, input_shape, exactly=self.exact_inputs)
        batches = {s[0] for s in shapes} - {None}
        return (batches.pop() if len(batches) == 1 else None,) + self._broadcast(shapes)

    def _aligned(self, inputs) -> list[torch.Tensor]:
        if not isinstance(inputs, (list, tuple)):
            _shapes_list(self, tuple(inputs.shape))
        ndim = max(t.dim() for t in inputs)
        aligned = []
        for t in inputs:
            while t.dim() < ndim:
                t = t.unsqueeze(1)
            aligned.append(t)
        return aligned

    def call(self, inputs, mask=None):
        return self._merge(self._aligned(inputs), mask)

    def _merge(self, inputs, mask):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        combined = mask[0]
        for m in mask[1:]:
            combined = combined | m
        return combined


def _expanded(mask, like):
    return mask.unsqueeze(-1).expand_as(like) if mask.dim() < like.dim() else mask


def _or_merge(op, inputs, mask):
    """Maximum/Minimum with masks: masked entries take the other inputs' values (Keras's rule)."""
    masks = mask if isinstance(mask, (list, tuple)) else [None] * len(inputs)
    output, output_mask = None, None
    for x, m in zip(inputs, masks):
        m = None if m is None else _expanded(m.to(torch.bool), x)
        if output is None:
            output, output_mask = x, m
            continue
        if m is not None:
            x = torch.where(m, x, output)
        if output_mask is not None:
            output = torch.where(output_mask, output, x)
        output_mask = None if m is None or output_mask is None else output_mask | m
        output = op(output, x)
    return output


class Add(Merge):
    """The sum of the inputs."""

    def _merge(self, inputs, mask):
        output = inputs[0]
        for t in inputs[1:]:
            output = output + t
        return output


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    exact_inputs = 2

    def _merge(self, inputs, mask):
        if len(inputs) != 2:
            raise ValueError(f"A Subtract layer is called on exactly 2 tensors. Received {len(inputs)}.")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """The elementwise product; with masks, masked entries count as 1 and all-masked entries are 0."""

    def _merge(self, inputs, mask):
        masks = mask if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = _expanded(m.to(torch.bool), x)
                x = torch.where(m, x, torch.ones_like(x))
                if all_masked:
                    output_mask = m if output_mask is None else output_mask | m
            output = x if output is None else output * x
        if all_masked:
            output = torch.where(output_mask, output, torch.zeros_like(output))
        return output


class Average(Merge):
    """The mean of the inputs."""

    def _merge(self, inputs, mask):
        output = inputs[0]
        for t in inputs[1:]:
            output = output + t
        return output / len(inputs)


class Maximum(Merge):
    """The elementwise maximum."""

    def _merge(self, inputs, mask):
        return _or_merge(torch.maximum, inputs, mask)


class Minimum(Merge):
    """The elementwise minimum."""

    def _merge(self, inputs, mask):
        return _or_merge(torch.minimum, inputs, mask)


class Concatenate(Layer):
    """The inputs joined along ``axis`` (default -1, the features); all other axes must agree."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_int(axis, "axis", None, owner="Concatenate")

    def _axis(self, ndim: int) -> int:
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate): axis={self.axis} is outside inputs of rank {ndim}; use an axis "
                f"from {-ndim} to {ndim - 1} (-1: the last axis)."
            )
        if self.axis % ndim == 0:
            raise ValueError(f"Layer '{self.name}' (Concatenate) cannot join along the batch axis (axis=0).")
        return self.axis % ndim

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        shapes = _shapes_list(self, input_shape)
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) needs inputs of one rank; received shapes "
                f"{[format_shape(s) for s in shapes]}."
            )
        axis = self._axis(ranks.pop())
        output = list(shapes[0])
        for dim in range(1, len(output)):
            if dim == axis:
                sizes = [s[dim] for s in shapes]
                output[dim] = None if None in sizes else sum(sizes)
                continue
            known = {s[dim] for s in shapes} - {None}
            if len(known) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) joins along axis {self.axis}, so every other axis must agree; "
                    f"received shapes {[format_shape(s) for s in shapes]} (axis {dim} differs: {sorted(known)})."
                )
            output[dim] = known.pop() if known else None
        return tuple(output)

    def call(self, inputs):
        return torch.cat(list(inputs), dim=self._axis(inputs[0].dim()))

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            else:
                full.append(_expanded(m.to(torch.bool), x))
        return torch.cat(full, dim=self._axis(inputs[0].dim())).any(dim=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def batch_product(x: torch.Tensor, y: torch.Tensor, a: int, b: int) -> torch.Tensor:
    """Sample by sample, the sum of products over axis ``a`` of ``x`` and axis ``b`` of ``y`` (both > 0):
    ``(batch, *x_rest)`` with ``(batch, *y_rest)`` -> ``(batch, *x_rest, *y_rest)``, at least 2-D (``(batch, 1)``
    for two vectors). Dot's computation and Keras 2's ``K.batch_dot``."""
    x, y = x.movedim(a, -1), y.movedim(b, 1)  # (batch, ..., k) and (batch, k, ...)
    x_rest, y_rest = x.shape[1:-1], y.shape[2:]
    product = torch.bmm(x.reshape(x.shape[0], -1, x.shape[-1]), y.reshape(y.shape[0], y.shape[1], -1))
    result = product.reshape((x.shape[0], *x_rest, *y_rest))
    return result if result.dim() > 1 else result.unsqueeze(-1)


def _l2_normalize(x, axis):
    square_sum = (x * x).sum(dim=axis, keepdim=True)
    from lstmkit import backend

    return x * torch.rsqrt(torch.clamp(square_sum, min=backend.epsilon() ** 2))


class Dot(Layer):
    """The dot product of two tensors along ``axes`` (one int for both, or a pair), batch by batch;
    ``normalize=True`` gives the cosine similarity. ``(b, n)·(b, n)`` -> ``(b, 1)``; ``(b, t, n)`` with
    ``(b, s, n)`` and ``axes=2`` -> ``(b, t, s)``."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int) and not isinstance(axes, bool):
            pass
        elif isinstance(axes, (list, tuple)) and len(axes) == 2 and all(isinstance(a, int) for a in axes):
            axes = tuple(axes)
        else:
            raise TypeError(f"Dot: axes must be an integer or a pair of integers. Received: axes={axes!r}")
        self.axes, self.normalize = axes, bool(normalize)

    def _resolved(self, ndims) -> list[int]:
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        resolved = [a % n for a, n in zip(axes, ndims)]
        if 0 in resolved:
            raise ValueError(
                f"Layer '{self.name}' (Dot) cannot take the product over the batch axis (axes={self.axes})."
            )
        return resolved

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        first, second = _shapes_list(self, input_shape, exactly=2)
        if len(first) < 2 or len(second) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Dot) needs inputs of rank >= 2; received {first} and {second}."
            )
        a, b = self._resolved((len(first), len(second)))
        if None not in (first[a], second[b]) and first[a] != second[b]:
            raise ValueError(
                f"Layer '{self.name}' (Dot) multiplies axis {a} of {format_shape(first)} with axis {b} of "
                f"{format_shape(second)}, which have different sizes ({first[a]} and {second[b]}). Choose axes whose "
                "sizes agree."
            )
        output = [d for i, d in enumerate(first) if i != a] + [
            d for i, d in enumerate(second) if i not in (0, b)
        ]
        return tuple(output) if len(output) > 1 else (output[0], 1)

    def call(self, inputs):
        x, y = inputs
        a, b = self._resolved((x.dim(), y.dim()))
        if self.normalize:
            x, y = _l2_normalize(x, a), _l2_normalize(y, b)
        return batch_product(x, y, a, b)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
