"""Layers, at Keras's paths: ``from lstmkit.layers import LSTM, Dense, Conv1D, Embedding, Dropout``."""

from lstmkit.layers import attention as _attention
from lstmkit.layers import merging as _merging
from lstmkit.layers import rnn as _rnn
from lstmkit.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from lstmkit.layers.attention import *  # Attention, AdditiveAttention, MultiHeadAttention
from lstmkit.layers.base import InputShapeError, KerasWeight, Layer
from lstmkit.layers.conv import Conv1D, Convolution1D
from lstmkit.layers.conv_nd import Conv2D, Conv3D, Convolution2D, Convolution3D
from lstmkit.layers.core import Activation, Dense
from lstmkit.layers.embedding import Embedding
from lstmkit.layers.identity import ActivityRegularization, Identity
from lstmkit.layers.input_layer import Input, InputLayer, InputSpec
from lstmkit.layers.lambda_layer import Lambda
from lstmkit.layers.masking import Masking
from lstmkit.layers.merging import *  # Add, Concatenate, Dot, ... and their functional forms
from lstmkit.layers.normalization import BatchNormalization, LayerNormalization
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
from lstmkit.layers.regularization import Dropout, GaussianNoise, SpatialDropout1D
from lstmkit.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from lstmkit.layers.reshaping_steps import Cropping1D, UpSampling1D, ZeroPadding1D
from lstmkit.layers.rnn import *  # every recurrent layer, listed in _rnn.__all__
from lstmkit.layers.serialization import deserialize, serialize
from lstmkit.layers.text_vectorization import TextVectorization
from lstmkit.layers.wrappers import TimeDistributed

__all__ = [
    "ELU",
    "Activation",
    "ActivityRegularization",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Cropping1D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Identity",
    "Input",
    "InputLayer",
    "InputShapeError",
    "InputSpec",
    "KerasWeight",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Masking",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "PReLU",
    "Permute",
    "ReLU",
    "RepeatVector",
    "Reshape",
    "Softmax",
    "SpatialDropout1D",
    "TextVectorization",
    "ThresholdedReLU",
    "TimeDistributed",
    "UpSampling1D",
    "ZeroPadding1D",
    "deserialize",
    "serialize",
]
# The recurrent, merging and attention layers come from their packages' own lists, so that a layer added
# there is exported here without editing this list.
for _package in (_rnn, _merging, _attention):
    __all__ += [name for name in _package.__all__ if name not in __all__]
del _package
