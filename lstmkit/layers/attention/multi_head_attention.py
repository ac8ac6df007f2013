"""MultiHeadAttention, as Keras 3's: arguments, weights (layout, order, initial law), masks and numerics.

Called as ``mha(query, value)`` or ``mha(query, value, key)``:

- ``query`` ``(batch, T, dim)``, ``value`` ``(batch, S, value_features)``, ``key`` ``(batch, S,
  key_features)`` (the value when not given); higher ranks ``(batch, *positions, features)`` attend over
  ``attention_axes`` (default: every position axis).
- output ``(batch, T, dim)`` (or ``(batch, T, *output_shape)``); with ``return_attention_scores=True`` also
  the attention weights ``(batch, num_heads, T, S)`` (before dropout).

Each head projects query and key to ``key_dim`` and value to ``value_dim`` features, attends with
``softmax(q k^T / sqrt(key_dim))`` and the heads' results are projected back together. Weights, in Keras's
order: ``query/kernel (dim, num_heads, key_dim)``, ``query/bias (num_heads, key_dim)``, the same for ``key``,
(``gate`` with ``use_gate=True``), ``value`` (``value_dim``), ``attention_output/kernel (num_heads,
value_dim, dim)``, ``attention_output/bias (dim,)``.

Masks (combined with AND into one ``(batch, T, S)`` attention mask, as Keras 3 does): ``attention_mask``;
the query's mask (``query_mask=`` or the query tensor's own; it is also the output's mask), the value's
and the key's; ``use_causal_mask=True`` (step i sees steps <= i); ``sliding_window`` (|i - j| <
window). A query step that may attend nothing gets Keras's TensorFlow result: uniform weights on the
direct path, zero weights (output = the output bias) when the scores are returned, dropout is on or the
inputs are not 3-D — the two code paths Keras takes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lstmkit import constraints, initializers, regularizers
from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.layers.attention.attention import SeededDropout, causal_mask
from lstmkit.layers.attention.projection import Projection
from lstmkit.layers.base import Layer, format_shape
from lstmkit.layers.regularization import _fraction, _seed
from lstmkit.utils.checks import check_int, is_int

__all__ = ["MultiHeadAttention"]

_TENSOR_ARGUMENTS = ("query", "value", "key")


def _positive(value, what: str, allow_none: bool = False):
    return check_int(value, what, 1, allow_none=allow_none, owner="MultiHeadAttention")


def _shape_of(value) -> tuple:
    """The shape of a tensor, an array or a KerasTensor, with the batch axis None."""
    shape = value.shape if isinstance(value, (KerasTensor, torch.Tensor)) else np.shape(value)
    return (None,) + tuple(shape[1:])


def _several_shapes(value) -> bool:
    """[query_shape, value_shape(, key_shape)] rather than one shape."""
    return (
        isinstance(value, (list, tuple))
        and 2 <= len(value) <= 3
        and all(isinstance(s, (list, tuple)) for s in value)
    )


def _bool_mask(value, device) -> torch.Tensor | None:
    return None if value is None else torch.as_tensor(value, device=device).bool()


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), Keras 3's ``MultiHeadAttention``: see the module
    docstring for shapes, weights and masks.

    Arguments: ``num_heads``, ``key_dim`` (per-head size of query and key), ``value_dim`` (per-head size of
    value; default ``key_dim``), ``dropout`` (on the attention weights, in training), ``use_bias``,
    ``output_shape`` (the output's feature shape; default the query's last dimension), ``attention_axes``,
    ``sliding_window``, ``flash_attention`` (a kernel choice; True raises where Keras raises),
    ``kernel_initializer``, ``bias_initializer``, ``kernel_regularizer``, ``bias_regularizer``,
    ``activity_regularizer``, ``kernel_constraint``, ``bias_constraint``, ``use_gate``, ``seed``.
    """

    supports_masking = True
    # The projections, in weight order, as Keras's files hold them (lstmkit/saving/keras/weights.py).
    keras_inner_layers = ("_query_dense", "_key_dense", "_gate_dense", "_value_dense", "_output_dense")

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        for keras2_key in ("query_shape", "key_shape", "value_shape"):  # Keras 2 configs: see from_config
            kwargs.pop(keras2_key, None)
        super().__init__(**kwargs)
        self.num_heads = _positive(num_heads, "num_heads")
        self.key_dim = _positive(key_dim, "key_dim")
        self.value_dim = _positive(value_dim, "value_dim", allow_none=True) or self.key_dim
        self.dropout = _fraction(dropout, "dropout", "MultiHeadAttention")
        self.use_bias = bool(use_bias)
        if output_shape is not None and not (isinstance(output_shape, (list, tuple)) and not output_shape):
            dims = (output_shape,) if is_int(output_shape) else output_shape
            if not isinstance(dims, (list, tuple)) or not all(is_int(d) and d > 0 for d in dims):
                raise ValueError(
                    "MultiHeadAttention: output_shape must be a positive integer or a tuple of them (the output's "
                    f"feature shape). Received: output_shape={output_shape!r}"
                )
            output_shape = tuple(int(d) for d in dims)
        self._output_shape = output_shape or None  # not `output_shape`: that is the layer's output shape
        if is_int(attention_axes):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)) or not all(is_int(a) for a in attention_axes):
                raise ValueError(
                    "MultiHeadAttention: attention_axes must be an int, a list or a tuple of ints, or None. "
                    f"Received: attention_axes={attention_axes!r}"
                )
            attention_axes = tuple(int(a) for a in attention_axes)
        self.attention_axes = attention_axes
        self.sliding_window = _positive(sliding_window, "sliding_window", allow_none=True)
        self.flash_attention = flash_attention
        if flash_attention and self.dropout > 0:
            raise ValueError(
                "MultiHeadAttention: dropout is not supported with flash_attention=True (as in Keras). Set "
                "dropout=0.0 or leave flash_attention out (lstmkit picks torch's fused kernel when it can)."
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # As Keras: the projections penalise their outputs; the layer's own outputs are not penalised.
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.use_gate = bool(use_gate)
        self.seed = _seed(seed, "MultiHeadAttention")
        self._dropout = SeededDropout(self.dropout, self.seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))

    # ------------------------------------------------------------------ building
    def __call__(self, *args, **kwargs):
        """Keras's call forms: ``mha(query, value)``, ``mha(query, value, key)``, or any of them by keyword.
        The weights need all three shapes, so the layer builds here, before the base class's call."""
        if not args and "query" in kwargs:
            args = (kwargs.pop("query"),)
        if "mask" in kwargs:
            raise TypeError(
                f"Layer '{self.name}' (MultiHeadAttention) takes its masks as query_mask=, value_mask=, key_mask= "
                "(each (batch, timesteps)) or attention_mask= ((batch, T, S)); the inputs' own masks are used "
                "too. Received: mask=..."
            )
        if not args or (len(args) < 2 and kwargs.get("value") is None):
            raise TypeError(
                f"Layer '{self.name}' (MultiHeadAttention) is called with a query and a value: mha(query, value) "
                "or mha(query, value, key); for self-attention pass the same tensor twice, mha(x, x). Received "
                f"{len(args)} positional argument(s) and keywords {sorted(kwargs)}."
            )
        named = dict(zip(_TENSOR_ARGUMENTS, args))
        named.update({k: kwargs[k] for k in _TENSOR_ARGUMENTS if kwargs.get(k) is not None})
        shapes = [_shape_of(named["query"]), _shape_of(named["value"])]
        if named.get("key") is not None:
            shapes.append(_shape_of(named["key"]))
        if self.built:
            self._check_shapes(*shapes, against_weights=True)
        else:
            self.ensure_built(shapes)
        return super().__call__(*args, **kwargs)

    def _check_shapes(self, query, value, key=None, against_weights=False) -> list:
        key = value if key is None else key
        for what, shape in (("query", query), ("value", value), ("key", key)):
            if len(shape) < 3:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) attends over sequences: its {what} must be (batch, "
                    f"timesteps, features) (or (batch, *positions, features)); received shape {format_shape(shape)}."
                    " A single vector per sample becomes a one-step sequence with Reshape((1, features))."
                )
            if shape[-1] is None:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) needs the size of the {what}'s last axis to make its "
                    f"weights; received {what} shape {format_shape(shape)}."
                )
        if not len(query) == len(value) == len(key):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention) needs query, value and key of one rank; received shapes "
                f"{format_shape(query)}, {format_shape(value)} and {format_shape(key)}."
            )
        if any(None not in (v, k) and v != k for v, k in zip(value[1:-1], key[1:-1])):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): all dimensions of value and key except the last must be "
                f"equal (one key per value step). Received value shape {format_shape(value)} and key shape "
                f"{format_shape(key)}."
            )
        if against_weights:
            built = {"query": self._query_dense, "value": self._value_dense, "key": self._key_dense}
            for what, shape in (("query", query), ("value", value), ("key", key)):
                expected = built[what].in_dims[0]
                if shape[-1] != expected or len(shape) != self._rank - 1:
                    raise ValueError(
                        f"Layer '{self.name}' (MultiHeadAttention) was built for a {what} with {expected} features "
                        f"(last axis) and rank {self._rank - 1}; received {what} shape {format_shape(shape)}."
                    )
        return [tuple(query), tuple(value), tuple(key)]

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Make the projections for inputs of these shapes (or one list ``[query, value(, key)]``)."""
        if value_shape is None and _several_shapes(query_shape):
            query_shape, value_shape, *rest = query_shape
            key_shape = rest[0] if rest else None
        if value_shape is None:
            raise TypeError(
                "MultiHeadAttention.build needs the query and the value shapes: build(query_shape, value_shape) "
                f"or build(query_shape, value_shape, key_shape). Received: query_shape={query_shape!r}."
            )
        query, value, key = self._check_shapes(
            tuple(query_shape), tuple(value_shape), key_shape and tuple(key_shape)
        )
        self._rank = len(query) + 1  # of the projected tensors: (batch, *positions, heads, features)
        positions = self._rank - 3
        if self.attention_axes is None:
            self.attention_axes = tuple(range(1, positions + 1))
        else:
            resolved = tuple(a if a >= 0 else (self._rank - 1) + a for a in self.attention_axes)
            if any(not 1 <= a <= positions for a in resolved) or len(set(resolved)) != len(resolved):
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention): attention_axes={self.attention_axes} must name "
                    f"distinct position axes of the query, between 1 and {positions} for a query of shape "
                    f"{format_shape(query)} (the batch and feature axes cannot be attended over)."
                )
            self.attention_axes = tuple(sorted(resolved))
        common = {
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self._activity_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
            "dtype": self._dtype_name,
        }
        heads = self.num_heads
        self._query_dense = Projection("query", (query[-1],), (heads, self.key_dim), **common)
        self._key_dense = Projection("key", (key[-1],), (heads, self.key_dim), **common)
        self._gate_dense = None
        if self.use_gate:
            gate = Projection(
                "gate", (query[-1],), (heads, self.value_dim), activation=torch.sigmoid, **common
            )
            self._gate_dense = gate
        self._value_dense = Projection("value", (value[-1],), (heads, self.value_dim), **common)
        out = self._output_shape or (query[-1],)
        self._output_dense = Projection("attention_output", (heads, self.value_dim), out, **common)

    def compute_output_shape(
        self, query_shape, value_shape=None, key_shape=None, return_attention_scores=False
    ):
        if value_shape is None and _several_shapes(query_shape):
            query_shape, value_shape, *rest = query_shape
            key_shape = rest[0] if rest else None
        query = tuple(query_shape)
        output = query[:-1] + (self._output_shape or (query[-1],))
        if not return_attention_scores:
            return output
        if value_shape is None:
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): the attention scores' shape needs the value's shape; "
                "call compute_output_shape(query_shape, value_shape, return_attention_scores=True)."
            )
        query, value, _ = self._check_shapes(query, tuple(value_shape), key_shape and tuple(key_shape))
        axes = self.attention_axes or tuple(range(1, len(query) - 1))
        others = tuple(query[i] for i in range(1, len(query) - 1) if i not in axes)
        scores = (query[0],) + others + (self.num_heads,) + tuple(query[a] for a in axes)
        return [output, scores + tuple(value[a] for a in axes)]

    # ------------------------------------------------------------------ computing
    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=False,
        use_causal_mask=False,
    ):
        value = self._as_tensors(value)
        key_given = key is not None
        key = self._as_tensors(key) if key_given else value
        device = query.device
        query_mask = _bool_mask(
            query_mask if query_mask is not None else getattr(query, "_keras_mask", None), device
        )
        value_mask = _bool_mask(
            value_mask if value_mask is not None else getattr(value, "_keras_mask", None), device
        )
        if key_given:
            key_mask = key_mask if key_mask is not None else getattr(key, "_keras_mask", None)
        key_mask = _bool_mask(key_mask, device)
        attention_mask = _bool_mask(attention_mask, device)
        if self.flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): return_attention_scores=True is not supported with "
                "flash_attention=True (as in Keras). Leave flash_attention out to get the scores."
            )
        projected_query = self._query_dense(query)  # (batch, *positions, heads, key_dim)
        projected_key = self._key_dense(key)
        projected_value = self._value_dense(value)  # (batch, *positions, heads, value_dim)
        # Keras's two paths differ only for a query step that may attend nothing: its fused path (no dropout,
        # no scores returned, 3-D inputs) gives it uniform weights, the other zero weights.
        fused = not (self.dropout > 0 or return_attention_scores or self._rank != 4)
        masks = (query_mask, value_mask, key_mask, attention_mask)
        if fused and all(m is None for m in masks) and self.sliding_window is None:
            output = F.scaled_dot_product_attention(  # no padding masks: torch's fused kernel, same math
                projected_query.transpose(1, 2),
                projected_key.transpose(1, 2),
                projected_value.transpose(1, 2),
                is_causal=bool(use_causal_mask),
                scale=self._inverse_sqrt_key_dim,
            ).transpose(1, 2)
            scores = None
        else:
            mask = self._attention_mask(query, value, *masks, use_causal_mask)
            output, scores = self._attend(
                projected_query, projected_key, projected_value, mask, training, zero_masked_rows=not fused
            )
        if self._gate_dense is not None:
            output = output * self._gate_dense(query)
        output = self._output_dense(output)
        if query_mask is not None:
            output._keras_mask = query_mask  # the query's padding is the output's (compute_mask says None)
        return [output, scores] if return_attention_scores else output

    def _attention_mask(
        self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
    ):
        """The AND of every mask, broadcastable to (batch, T, S); None when there is none."""
        combined = None

        def add(mask):
            nonlocal combined
            combined = mask if combined is None else combined & mask

        if query_mask is not None:
            add(query_mask.unsqueeze(-1))  # (batch, T, 1)
        if value_mask is not None:
            add(value_mask.unsqueeze(-2))  # (batch, 1, S)
        if key_mask is not None:
            add(key_mask.unsqueeze(-2))
        rows, cols = query.shape[1], value.shape[1]
        if use_causal_mask:
            add(causal_mask(rows, cols, query.device))
        if self.sliding_window is not None:
            distance = (
                torch.arange(rows, device=query.device)[:, None] - torch.arange(cols, device=query.device)
            ).abs()
            add((distance < self.sliding_window).unsqueeze(0))
        if attention_mask is not None:
            add(attention_mask)
        return combined

    def _attend(self, query, key, value, mask, training, zero_masked_rows):
        """Attention over ``self.attention_axes`` of the projected tensors (batch, *positions, heads, features).
        Returns the heads' outputs in the same layout and the weights (batch, *other positions, heads,
        *query attention axes, *key attention axes)."""
        axes = self.attention_axes
        rank = query.dim()
        others = [i for i in range(1, rank - 2) if i not in axes]
        order = [0, *others, rank - 2, *axes, rank - 1]  # (batch, *others, heads, *attended, features)

        def gathered(t):
            t = t.permute(order)
            lead = t.shape[: len(others) + 2]
            return t.reshape(*lead, -1, t.shape[-1]), t.shape[len(others) + 2 : -1]

        q, q_attended = gathered(query * self._inverse_sqrt_key_dim)
        k, k_attended = gathered(key)
        v, _ = gathered(value)
        # (batch, *others, heads, Tq, Tk), the attended axes flattened
        scores = torch.matmul(q, k.transpose(-1, -2))
        full_shape = scores.shape[:-2] + q_attended + k_attended
        if mask is not None:
            while mask.dim() < len(full_shape):  # Keras's broadcasting: new axes go where the heads are
                mask = mask.unsqueeze(-2 * len(axes) - 1)
            mask = mask.expand(full_shape).reshape(scores.shape)
            scores = torch.where(mask, scores, torch.full((), -1e9, dtype=scores.dtype, device=scores.device))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None and zero_masked_rows:
            weights = torch.where(mask, weights, torch.zeros((), dtype=weights.dtype, device=weights.device))
        dropped = self._dropout(weights) if training and self.dropout > 0 else weights
        output = torch.matmul(dropped, v)  # (batch, *others, heads, Tq, value_dim)
        output = output.reshape(*output.shape[:-2], *q_attended, output.shape[-1])
        output = output.permute(np.argsort(order).tolist())
        return output, weights.reshape(full_shape)

    def compute_mask(self, inputs, mask=None):
        return None  # call() sets the output's mask: the query's (as Keras 3)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Keras 2 configs carry the build shapes (query_shape, value_shape, key_shape): build from them."""
        config = dict(config)
        shapes = [config.pop(k, None) for k in ("query_shape", "value_shape", "key_shape")]
        layer = cls(**config)
        if shapes[0] is not None and shapes[1] is not None:
            layer.ensure_built([tuple(s) for s in shapes if s is not None])
        return layer
