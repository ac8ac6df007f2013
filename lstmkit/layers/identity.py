"""Layers whose output is their input: Identity, and ActivityRegularization, which also adds a penalty on
the values passing through it to the training loss."""

from __future__ import annotations

from lstmkit import regularizers
from lstmkit.layers.base import Layer

__all__ = ["ActivityRegularization", "Identity"]


class Identity(Layer):
    """Returns its input unchanged (any shape); passes a mask on. A placeholder, e.g. for an optional step."""

    supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size`` to the loss.

    Input and output: any shape ``(batch, ...)``. As in Keras, the penalty is divided by the batch size, so
    that its strength does not depend on ``batch_size``, and it counts in ``fit`` and ``evaluate`` alike.
    """

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        # As Keras: the base class's activity_regularizer= on an identity. L1L2 checks l1, l2 >= 0.
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer")  # l1 and l2 say it
        return {**config, "l1": self.l1, "l2": self.l2}
