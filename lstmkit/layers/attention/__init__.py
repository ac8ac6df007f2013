"""Attention layers, as Keras's: ``Attention`` (dot-product), ``AdditiveAttention``, ``MultiHeadAttention``."""

from lstmkit.layers.attention.additive_attention import AdditiveAttention
from lstmkit.layers.attention.attention import Attention
from lstmkit.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]
