"""Keras's ``keras.preprocessing`` path: ``sequence`` (``pad_sequences``, ``TimeseriesGenerator``),
``timeseries`` and ``timeseries_dataset_from_array``."""

from lstmkit.preprocessing import sequence, timeseries
from lstmkit.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["sequence", "timeseries", "timeseries_dataset_from_array"]
