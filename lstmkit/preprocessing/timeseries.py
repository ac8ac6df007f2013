"""Keras 2's ``keras.preprocessing.timeseries`` path for ``timeseries_dataset_from_array``."""

from lstmkit.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["timeseries_dataset_from_array"]
