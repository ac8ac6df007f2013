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
        super().__init__(**kwargs)
        self._regularizer = regularizers.L1L2(l1=l1, l2=l2)  # validates: l1, l2 >= 0
        self.l1, self.l2 = self._regularizer.l1, self._regularizer.l2
        self._activity_penalty = None  # the penalty of the latest call

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs):
        penalty = self._regularizer(inputs)
        if inputs.dim() and inputs.shape[0]:
            penalty = penalty / inputs.shape[0]
        self._activity_penalty = penalty
        return inputs

    def regularization_losses(self):
        # The penalty of the values this layer saw in the current forward pass (the training loop asks for
        # the penalties right after the forward pass).
        own = [] if self._activity_penalty is None else [self._activity_penalty]
        return own + super().regularization_losses()

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
