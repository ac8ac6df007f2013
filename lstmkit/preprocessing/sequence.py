"""Keras's ``keras.preprocessing.sequence``: ``pad_sequences`` and Keras 2's ``TimeseriesGenerator``."""

from lstmkit.utils.sequence_utils import pad_sequences
from lstmkit.utils.timeseries_generator import TimeseriesGenerator

__all__ = ["TimeseriesGenerator", "pad_sequences"]
