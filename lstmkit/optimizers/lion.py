"""Lion (sign of an interpolated momentum), with Keras 3's defaults."""

from __future__ import annotations

import torch

from lstmkit.optimizers.adam import _check_beta
from lstmkit.optimizers.base import Optimizer

__all__ = ["Lion"]


class Lion(Optimizer):
    """``Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99)``:
    ``var -= lr * sign(beta_1 m + (1 - beta_1) g)``; then ``m = beta_2 m + (1 - beta_2) g``."""

    _slots = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_beta(beta_1, "beta_1")
        self.beta_2 = _check_beta(beta_2, "beta_2")

    def _update(self, params, grads, slots, lr, step):
        m = slots["momentum"]
        direction = torch._foreach_lerp(m, grads, 1.0 - self.beta_1)
        torch._foreach_sign_(direction)
        torch._foreach_add_(params, direction, alpha=-lr)
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
