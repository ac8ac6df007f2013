"""Keras 2's module path ``keras.layers.cudnn_recurrent``; the layers live in ``lstmkit.layers.rnn.cudnn``."""

from lstmkit.layers.rnn.cudnn import CuDNNGRU, CuDNNLSTM

__all__ = ["CuDNNGRU", "CuDNNLSTM"]
