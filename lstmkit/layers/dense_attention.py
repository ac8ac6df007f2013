"""Keras 2's module path ``keras.layers.dense_attention``; the layers live in ``lstmkit.layers.attention``."""

from lstmkit.layers.attention import AdditiveAttention, Attention

__all__ = ["AdditiveAttention", "Attention"]
