"""Recurrent layers: the RNN base, the cells, the layers built on them, and Bidirectional."""

from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.bidirectional import Bidirectional
from lstmkit.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lstmkit.layers.rnn.cudnn import CuDNNGRU, CuDNNLSTM
from lstmkit.layers.rnn.gru import GRU, GRUCell
from lstmkit.layers.rnn.lstm import LSTM, LSTMCell
from lstmkit.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from lstmkit.layers.rnn.stacked_cells import StackedRNNCells

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "CuDNNGRU",
    "CuDNNLSTM",
    "GRUCell",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
]
