"""Keras's ``keras.preprocessing`` path: ``sequence`` (``pad_sequences``, ``TimeseriesGenerator``),
``timeseries``, ``text`` (Keras 2's ``Tokenizer``) and ``timeseries_dataset_from_array``."""

from lstmkit.preprocessing import sequence, text, timeseries
from lstmkit.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["sequence", "text", "timeseries", "timeseries_dataset_from_array"]
