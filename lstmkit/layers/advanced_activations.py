"""Keras 2's module path ``keras.layers.advanced_activations``; the layers live in
``lstmkit.layers.activation_layers``."""

from lstmkit.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]
