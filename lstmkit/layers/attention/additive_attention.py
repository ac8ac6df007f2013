"""AdditiveAttention: Bahdanau-style attention, as Keras's — ``Attention`` with additive scores.

Called as ``AdditiveAttention()([query, value])`` or ``([query, value, key])``: query ``(batch, Tq, dim)``,
value ``(batch, Tv, value_dim)``, key ``(batch, Tv, dim)``; output ``(batch, Tq, value_dim)`` (and the
attention weights ``(batch, Tq, Tv)`` with ``return_attention_scores=True``). The score of query step i
against key step j is ``sum(scale * tanh(query_i + key_j))`` with the weight ``scale`` of shape ``(dim,)``
(glorot-uniform initialised; ``use_scale=False`` drops it). Masks, causal masking and dropout are
``Attention``'s.
"""

from __future__ import annotations

import torch

from lstmkit.layers.attention.attention import Attention

__all__ = ["AdditiveAttention"]


class AdditiveAttention(Attention):
    """Additive attention: ``use_scale`` (default True: a learned ``scale`` of shape ``(dim,)``),
    ``dropout`` (on the attention weights, in training), ``seed``, Keras 2's ``causal``."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        if "score_mode" in kwargs:
            raise TypeError(
                "AdditiveAttention has no score_mode: its scores are always additive (sum(scale * tanh(q + k))). "
                f"Received: score_mode={kwargs['score_mode']!r}. Use Attention(score_mode=...) for the others."
            )
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        query, _, _ = self._shapes(input_shape)
        if query[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' (AdditiveAttention) needs the size of the query's last axis for its scale "
                f"weight; received query shape {query}."
            )
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(query[-1],), initializer="glorot_uniform")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        tanh = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))  # (batch, Tq, Tv, dim)
        return (tanh * self.scale if self.scale is not None else tanh).sum(dim=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
