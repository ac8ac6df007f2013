"""Keras 2's ``keras.utils.data_utils`` path (``from keras.utils.data_utils import Sequence``)."""

from lstmkit.utils.py_dataset import PyDataset, Sequence
from lstmkit.utils.sequence_utils import pad_sequences

__all__ = ["PyDataset", "Sequence", "pad_sequences"]
