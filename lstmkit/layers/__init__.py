"""Layers, at Keras's paths: ``from lstmkit.layers import LSTM, Dense, Activation``."""

from lstmkit.layers.base import InputShapeError, KerasWeight, Layer
from lstmkit.layers.core import Activation, Dense
from lstmkit.layers.input_layer import Input, InputLayer, InputSpec
from lstmkit.layers.rnn import LSTM, RNN, LSTMCell
from lstmkit.layers.serialization import deserialize, serialize

__all__ = [
    "LSTM",
    "RNN",
    "Activation",
    "Dense",
    "Input",
    "InputLayer",
    "InputShapeError",
    "InputSpec",
    "KerasWeight",
    "LSTMCell",
    "Layer",
]
