"""Keras 2's module path ``keras.layers.convolutional``: the convolution layers and (as Keras 2 re-exported
them) the pooling, up-sampling, zero-padding and cropping layers. The layers live in ``lstmkit.layers.conv``,
``conv_nd``, ``pooling``, ``pooling2d`` and ``reshaping_steps``."""

from lstmkit.layers.conv import Conv1D, Convolution1D
from lstmkit.layers.conv_nd import Conv2D, Conv3D, Convolution2D, Convolution3D
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
from lstmkit.layers.pooling2d import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from lstmkit.layers.reshaping_steps import Cropping1D, UpSampling1D, ZeroPadding1D

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Cropping1D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "UpSampling1D",
    "ZeroPadding1D",
]
