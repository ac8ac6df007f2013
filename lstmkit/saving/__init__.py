"""Saving and loading models: ``model.save(path)`` / ``lstmkit.models.load_model(path)``,
``save_weights`` / ``load_weights``, ``to_json`` / ``model_from_json``.

One file whatever the extension ('.keras', '.h5', none), in a format that cannot run code when it
is loaded (a zip of JSON documents and ``.npy`` arrays; see ``lstmkit.saving.archive`` for the
layout and why), written atomically.
"""

from lstmkit.saving.api import load_model, model_from_config, model_from_json, model_to_json, save_model
from lstmkit.saving.archive import ModelFileError
from lstmkit.saving.weights import load_weights, save_weights
from lstmkit.utils.custom_objects import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = [
    "CustomObjectScope",
    "ModelFileError",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_from_config",
    "model_from_json",
    "model_to_json",
    "register_keras_serializable",
    "save_model",
    "save_weights",
]
