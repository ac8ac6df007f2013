"""Utilities at Keras's path (``lstmkit.utils``)."""

from lstmkit.utils.custom_objects import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lstmkit.utils.numerical import normalize, to_categorical
from lstmkit.utils.plotting import plot_history
from lstmkit.utils.py_dataset import PyDataset, Sequence, pack_x_y_sample_weight, unpack_x_y_sample_weight
from lstmkit.utils.random import set_random_seed
from lstmkit.utils.sequence_utils import pad_sequences
from lstmkit.utils.timeseries_dataset import timeseries_dataset_from_array
from lstmkit.utils.windows import make_windows, series_to_supervised

__all__ = [
    "CustomObjectScope",
    "PyDataset",
    "Sequence",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "make_windows",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_history",
    "register_keras_serializable",
    "series_to_supervised",
    "set_random_seed",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
