"""Keras 2's ``keras.layers.merge`` module path: the merge layers and their functional forms."""

from lstmkit.layers.merging import *
from lstmkit.layers.merging import __all__  # noqa: F401
