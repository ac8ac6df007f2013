"""Keras 2's module path ``keras.layers.embeddings``; the layer lives in ``lstmkit.layers.embedding``."""

from lstmkit.layers.embedding import Embedding

__all__ = ["Embedding"]
