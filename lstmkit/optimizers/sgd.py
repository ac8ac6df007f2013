"""SGD with Keras's momentum formulation.

Keras keeps the momentum as a velocity in parameter units (``m = momentum * m - lr * g``), which is
not the same as torch's when the learning rate changes during training; this follows Keras.
"""

from __future__ import annotations

import torch

from lstmkit.optimizers.base import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Defaults as Keras: ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False)``.

    Update: ``m = momentum * m - lr * g``; then ``var += m`` or, with Nesterov,
    ``var += momentum * m - lr * g``. Without momentum: ``var -= lr * g``.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        momentum = float(momentum)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1]. Received: momentum={momentum}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        self._slots = ("momentum",) if momentum > 0 else ()

    def _update(self, params, grads, slots, lr, step):
        if not self.momentum:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        velocity = slots["momentum"]
        torch._foreach_mul_(velocity, self.momentum)
        torch._foreach_add_(velocity, grads, alpha=-lr)
        if self.nesterov:
            torch._foreach_add_(params, velocity, alpha=self.momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, velocity)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
