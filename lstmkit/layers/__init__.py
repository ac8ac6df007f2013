"""Layers, at Keras's paths: ``from lstmkit.layers import LSTM, Dense, Conv1D, Embedding, Dropout``."""

from lstmkit.layers import rnn as _rnn
from lstmkit.layers.base import InputShapeError, KerasWeight, Layer
from lstmkit.layers.conv import Conv1D, Convolution1D
from lstmkit.layers.core import Activation, Dense
from lstmkit.layers.embedding import Embedding
from lstmkit.layers.input_layer import Input, InputLayer, InputSpec
from lstmkit.layers.masking import Masking
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
from lstmkit.layers.regularization import Dropout, GaussianNoise, SpatialDropout1D
from lstmkit.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from lstmkit.layers.rnn import *  # every recurrent layer, listed in _rnn.__all__
from lstmkit.layers.serialization import deserialize, serialize
from lstmkit.layers.wrappers import TimeDistributed

__all__ = [
    "Activation",
    "AveragePooling1D",
    "AvgPool1D",
    "BatchNormalization",
    "Conv1D",
    "Convolution1D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "GlobalMaxPooling1D",
    "Input",
    "InputLayer",
    "InputShapeError",
    "InputSpec",
    "KerasWeight",
    "Layer",
    "LayerNormalization",
    "Masking",
    "MaxPool1D",
    "MaxPooling1D",
    "Permute",
    "RepeatVector",
    "Reshape",
    "SpatialDropout1D",
    "TimeDistributed",
    "deserialize",
    "serialize",
]
# The recurrent layers (LSTM, GRU, SimpleRNN, their cells, Bidirectional, ...) come from lstmkit.layers.rnn,
# so that a layer added there is exported here without editing this list.
__all__ += [name for name in _rnn.__all__ if name not in __all__]
