"""Saving and loading models: ``model.save(path)`` / ``lstmkit.models.load_model(path)``,
``save_weights`` / ``load_weights``, ``to_json`` / ``model_from_json``.

One file whatever the extension ('.keras', '.h5', none), in a format that cannot run code when it
is loaded (a zip of JSON documents and ``.npy`` arrays; see ``lstmkit.saving.archive`` for the
layout and why), written atomically.
"""

from lstmkit.saving.api import load_model, model_from_config, model_from_json, model_to_json, save_model
from lstmkit.saving.archive import ModelFileError
from lstmkit.saving.weights import load_weights, save_weights

__all__ = [
    "ModelFileError",
    "load_model",
    "load_weights",
    "model_from_config",
    "model_from_json",
    "model_to_json",
    "save_model",
    "save_weights",
]
