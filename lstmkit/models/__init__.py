"""Models at Keras's path: ``from lstmkit.models import Sequential``."""

from lstmkit.models.cloning import clone_model
from lstmkit.models.functional import Functional
from lstmkit.models.model import Model
from lstmkit.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model"]

# Saving and loading at Keras's paths: lstmkit.models.load_model(path) and friends.
from lstmkit.saving import load_model, model_from_json, save_model

__all__ += ["load_model", "model_from_json", "save_model"]
