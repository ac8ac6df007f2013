"""Models at Keras's path: ``from lstmkit.models import Sequential``."""

from lstmkit.models.model import Model
from lstmkit.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
