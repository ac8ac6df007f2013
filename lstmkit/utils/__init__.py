"""Utilities at Keras's path (``lstmkit.utils``)."""

from lstmkit.utils.numerical import normalize, to_categorical
from lstmkit.utils.random import set_random_seed

__all__ = ["normalize", "set_random_seed", "to_categorical"]
