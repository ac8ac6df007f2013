"""TensorFlow 2.2-2.5's ``tf.keras.layers.experimental`` path: ``preprocessing.TextVectorization``."""

from lstmkit.layers.experimental import preprocessing

__all__ = ["preprocessing"]
