"""Keras 2 module path ``keras.layers.recurrent``: the recurrent layers live in ``lstmkit.layers.rnn``."""

from lstmkit.layers.rnn import *
from lstmkit.layers.rnn import __all__  # noqa: F401
