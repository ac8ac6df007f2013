"""Attention: dot-product (Luong-style) attention of a query sequence over a value sequence, as Keras's.

Called on a list: ``Attention()([query, value])`` or ``([query, value, key])`` with

- ``query`` ``(batch, Tq, dim)``, ``value`` ``(batch, Tv, value_dim)``, ``key`` ``(batch, Tv, dim)`` (the
  value when not given);
- output ``(batch, Tq, value_dim)``; with ``return_attention_scores=True`` also the attention weights
  ``(batch, Tq, Tv)`` (after masking, softmax and dropout).

Scores: ``query @ key^T`` (times the ``scale`` weight with ``use_scale=True``), or with
``score_mode="concat"`` ``concat_score_weight * sum(tanh(scale * (query_i + key_j)))``. Masks: the value
mask (``mask=[query_mask, value_mask]``, or the tensors' own masks) keeps padded steps out of the softmax
(their scores are lowered by 1e9, as Keras does), ``use_causal_mask=True`` lets step i see steps <= i
only, and the query mask zeroes the output at padded query steps and becomes the output's mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit.layers.base import Layer, format_shape
from lstmkit.layers.regularization import _fraction, _seed
from lstmkit.utils.naming import unknown_name_error
from lstmkit.utils.shapes import is_shape

__all__ = ["Attention"]

_SCORE_MODES = ("dot", "concat")


def causal_mask(rows: int, cols: int, device) -> torch.Tensor:
    """``(1, rows, cols)`` booleans, True where column j <= row i: step i attends steps up to itself."""
    return torch.ones(rows, cols, dtype=torch.bool, device=device).tril().unsqueeze(0)


class SeededDropout:
    """Dropout for attention weights: torch's global generator, or the layer's own when it has a seed."""

    def __init__(self, rate: float, seed):
        self.rate, self.seed = rate, seed
        self._generators: dict = {}

    def __call__(self, weights: torch.Tensor) -> torch.Tensor:
        if self.rate == 0:
            return weights
        if self.rate == 1:
            return weights * 0.0
        if self.seed is None:
            return F.dropout(weights, self.rate, True)
        device = weights.device
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        keep = torch.empty_like(weights).bernoulli_(1.0 - self.rate, generator=self._generators[device])
        return weights * keep / (1.0 - self.rate)


class Attention(Layer):
    """Dot-product attention (Keras's ``Attention``): see the module docstring for shapes and masks.

    Arguments: ``use_scale`` (a learned scalar ``scale`` multiplies the scores), ``score_mode`` ``"dot"``
    or ``"concat"`` (adds the scalar weight ``concat_score_weight``), ``dropout`` (on the attention
    weights, in training), ``seed`` (for that dropout), and Keras 2's ``causal`` (the default of
    ``use_causal_mask``). Call arguments: ``mask``, ``training``, ``return_attention_scores``,
    ``use_causal_mask``.
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, causal=False, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in _SCORE_MODES:
            raise unknown_name_error(f"{type(self).__name__} score_mode", score_mode, _SCORE_MODES)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = _fraction(dropout, "dropout", type(self).__name__)
        self.seed = _seed(seed, type(self).__name__)
        # Keras 2: causal=True at construction = use_causal_mask=True in every call.
        self.causal = bool(causal)
        self._dropout = SeededDropout(self.dropout, self.seed)
        self.scale = None
        self.concat_score_weight = None

    # ------------------------------------------------------------------ shapes
    def _shapes(self, input_shape) -> list[tuple]:
        """[query, value, key] shapes (key = value when not given), checked; clear errors otherwise."""
        name = type(self).__name__
        if is_shape(input_shape) or not isinstance(input_shape, (list, tuple)):
            received = format_shape(input_shape) if is_shape(input_shape) else repr(input_shape)
            raise ValueError(
                f"A {name} layer is called on a list of tensors, [query, value] or [query, value, key], e.g. "
                f"{name}()([decoder_outputs, encoder_outputs]); for self-attention pass the same tensor twice, "
                f"{name}()([x, x]). Received one input of shape {received}."
            )
        if not 2 <= len(input_shape) <= 3:
            raise ValueError(
                f"A {name} layer takes 2 or 3 inputs, [query, value] or [query, value, key]. Received "
                f"{len(input_shape)}: {[format_shape(s) for s in input_shape]}."
            )
        shapes = [tuple(s) for s in input_shape]
        query, value = shapes[:2]
        key = shapes[2] if len(shapes) == 3 else value
        for what, shape in (("query", query), ("value", value), ("key", key)):
            if len(shape) < 3:
                raise ValueError(
                    f"Layer '{self.name}' ({name}) attends over sequences: its {what} must be (batch, timesteps, "
                    f"features); received shape {format_shape(shape)}. A single vector per sample becomes a "
                    f"one-step sequence with Reshape((1, features)) (or RepeatVector)."
                )
        if None not in (query[-1], key[-1]) and query[-1] != key[-1]:
            scored = "value (the key)" if len(shapes) == 2 else "key"
            raise ValueError(
                f"Layer '{self.name}' ({name}) compares the query with the {scored} feature by feature, so their "
                f"last dimensions must be equal. Received query shape {format_shape(query)} and {scored} shape "
                f"{format_shape(key)}. Project one of them first, e.g. Dense({key[-1]}) on the query."
            )
        if None not in (value[-2], key[-2]) and value[-2] != key[-2]:
            raise ValueError(
                f"Layer '{self.name}' ({name}): the key holds one vector per value step, so value and key need "
                f"the same number of timesteps. Received value shape {format_shape(value)} and key shape "
                f"{format_shape(key)}."
            )
        return [query, value, key]

    def build(self, input_shape):
        self._shapes(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones"
            )

    def compute_output_shape(self, input_shape, return_attention_scores=False):
        query, value, key = self._shapes(input_shape)
        output = query[:-1] + (value[-1],)
        return [output, query[:-1] + (key[-2],)] if return_attention_scores else output

    # ------------------------------------------------------------------ computing
    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """(batch, Tq, Tv) scores of every query step against every key step."""
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale if self.scale is not None else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(dim=-1)

    def _check_call(self, inputs, mask) -> None:
        if not isinstance(inputs, (list, tuple)):
            self._shapes(tuple(inputs.shape))  # raises the "called on a list" error
        self._shapes([(None,) + tuple(t.shape[1:]) for t in inputs])
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) takes mask=[query_mask, value_mask] (each (batch, "
                f"timesteps) or None). Received: mask={mask!r:.200}"
            )

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=None):
        self._check_call(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (mask[0], mask[1]) if mask is not None else (None, None)
        scores = self._scores(query, key)
        allowed = None  # (batch or 1, Tq or 1, Tv): True where a query step may attend a value step
        if value_mask is not None:
            allowed = torch.as_tensor(value_mask, device=scores.device).bool().unsqueeze(-2)
        if self.causal if use_causal_mask is None else use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            # Keras lowers masked scores by a large number (not -inf): a fully masked row stays finite.
            lowered = 65504.0 if scores.dtype == torch.float16 else 1.0e9
            scores = torch.where(allowed, scores, scores - lowered)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = self._dropout(weights)
        output = torch.matmul(weights, value)
        if query_mask is not None:
            keep = torch.as_tensor(query_mask, device=output.device).bool().unsqueeze(-1)
            output = torch.where(keep, output, torch.zeros((), dtype=output.dtype, device=output.device))
        return [output, weights] if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        if not isinstance(mask, (list, tuple)) or not mask or mask[0] is None:
            return None
        return torch.as_tensor(mask[0]).bool()

    def get_config(self):
        config = {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }
        if self.causal:
            config["causal"] = True
        return config
