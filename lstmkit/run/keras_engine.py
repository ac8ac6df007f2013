"""What Keras 2 scripts import from ``keras.engine`` (``topology``, ``base_layer``, ``training``, ...), under
``lstmkit run``: every ``keras.engine.*`` module is this one."""

from lstmkit.layers import Input, InputLayer, Layer
from lstmkit.models import Model, Sequential

__all__ = ["Input", "InputLayer", "Layer", "Model", "Sequential"]
