"""Keras 2's module path ``keras.layers.multi_head_attention``; the layer lives in ``lstmkit.layers.attention``."""

from lstmkit.layers.attention import MultiHeadAttention

__all__ = ["MultiHeadAttention"]
