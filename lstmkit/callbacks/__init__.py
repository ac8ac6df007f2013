"""Callbacks at Keras's path: ``from lstmkit.callbacks import History``."""

from lstmkit.callbacks.base import Callback, CallbackList
from lstmkit.callbacks.history import History
from lstmkit.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
