"""TensorFlow 2.2-2.5's ``tf.keras.layers.experimental.preprocessing``; the layer lives in
``lstmkit.layers.text_vectorization``."""

from lstmkit.layers.text_vectorization import TextVectorization

__all__ = ["TextVectorization"]
