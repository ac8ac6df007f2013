"""Keras 2's module path ``keras.layers.convolutional_recurrent``; the layers live in
``lstmkit.layers.rnn.conv_lstm``."""

from lstmkit.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
