"""lstmkit: the Keras model life-cycle (define, compile, fit, evaluate, predict) for recurrent
sequence models, on PyTorch.

``import lstmkit as keras`` gives the Keras layout: ``keras.Sequential``, ``keras.layers.LSTM``,
``keras.Input``, ``keras.optimizers.Adam``, ...
"""

from lstmkit import (
    activations,
    backend,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
)
from lstmkit.backend import set_device
from lstmkit.layers import Input
from lstmkit.models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "__version__",
    "activations",
    "backend",
    "callbacks",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "optimizers",
    "preprocessing",
    "regularizers",
    "saving",
    "set_device",
    "utils",
]


def __getattr__(name):
    """``lstmkit.export`` and ``lstmkit.wrappers`` load on first use: they need optional packages (onnx,
    scikit-learn) that ``import lstmkit`` should not pay for."""
    if name in ("export", "wrappers"):
        import importlib

        return importlib.import_module(f"lstmkit.{name}")
    raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")
