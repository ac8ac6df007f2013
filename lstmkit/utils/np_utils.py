"""Keras 2's ``keras.utils.np_utils`` path (``from keras.utils.np_utils import to_categorical``)."""

from lstmkit.utils.numerical import normalize, to_categorical

__all__ = ["normalize", "to_categorical"]
