"""Keras 2's module path ``keras.layers.convolutional``: Conv1D and (as Keras 2 re-exported them) the
1-D pooling layers. The layers live in ``lstmkit.layers.conv`` and ``lstmkit.layers.pooling``."""

from lstmkit.layers.conv import Conv1D, Convolution1D
from lstmkit.layers.pooling import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)

__all__ = [
    "AveragePooling1D",
    "AvgPool1D",
    "Conv1D",
    "Convolution1D",
    "GlobalAveragePooling1D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "GlobalMaxPooling1D",
    "MaxPool1D",
    "MaxPooling1D",
]
