"""Recurrent layers: the RNN base, the cells and the layers built on them."""

from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.lstm import LSTM, LSTMCell

__all__ = ["LSTM", "RNN", "LSTMCell"]
