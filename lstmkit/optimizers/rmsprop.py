"""Optimizers that scale by accumulated squared gradients, with Keras 3's formulas:
RMSprop, Adagrad, Adadelta. Keras puts ``epsilon`` *inside* the square root in all three."""

from __future__ import annotations

import torch

from lstmkit.optimizers.base import Optimizer

__all__ = ["Adadelta", "Adagrad", "RMSprop"]


class RMSprop(Optimizer):
    """``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)``.

    ``v = rho v + (1 - rho) g**2``; ``step = lr * g / sqrt(v + eps)`` (centered: ``v - a**2 + eps`` with
    ``a`` the running mean gradient); with momentum ``m = momentum * m + step; var -= m``, else ``var -= step``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = (
            float(rho),
            float(momentum),
            float(epsilon),
            bool(centered),
        )
        self._slots = (
            ("velocity",)
            + (("momentum",) if self.momentum > 0 else ())
            + (("average_gradient",) if self.centered else ())
        )

    def _update(self, params, grads, slots, lr, step):
        v = slots["velocity"]
        torch._foreach_mul_(v, self.rho)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.rho)
        if self.centered:
            avg = slots["average_gradient"]
            torch._foreach_lerp_(avg, grads, 1.0 - self.rho)
            denominator = torch._foreach_addcmul(v, avg, avg, value=-1.0)
            torch._foreach_add_(denominator, self.epsilon)
        else:
            denominator = torch._foreach_add(v, self.epsilon)
        torch._foreach_sqrt_(denominator)
        if self.momentum > 0:
            m = slots["momentum"]
            torch._foreach_mul_(m, self.momentum)
            torch._foreach_addcdiv_(m, grads, denominator, value=lr)
            torch._foreach_sub_(params, m)
        else:
            torch._foreach_addcdiv_(params, grads, denominator, value=-lr)

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)``:
    ``acc += g**2``; ``var -= lr * g / sqrt(acc + eps)``."""

    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _initial_slot(self, name, param):
        return torch.full_like(param, self.initial_accumulator_value)

    def _update(self, params, grads, slots, lr, step):
        acc = slots["accumulator"]
        torch._foreach_addcmul_(acc, grads, grads)
        denominator = torch._foreach_add(acc, self.epsilon)
        torch._foreach_sqrt_(denominator)
        torch._foreach_addcdiv_(params, grads, denominator, value=-lr)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """``Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)``:
    ``a_g = rho a_g + (1 - rho) g**2``; ``d = -sqrt(a_d + eps) / sqrt(a_g + eps) * g``;
    ``a_d = rho a_d + (1 - rho) d**2``; ``var += lr * d``."""

    _slots = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _update(self, params, grads, slots, lr, step):
        acc_grad, acc_delta = slots["accumulated_grad"], slots["accumulated_delta_var"]
        torch._foreach_mul_(acc_grad, self.rho)
        torch._foreach_addcmul_(acc_grad, grads, grads, value=1.0 - self.rho)
        numerator = torch._foreach_sqrt(torch._foreach_add(acc_delta, self.epsilon))
        denominator = torch._foreach_sqrt(torch._foreach_add(acc_grad, self.epsilon))
        delta = torch._foreach_div(torch._foreach_mul(numerator, grads), denominator)  # = -d
        torch._foreach_mul_(acc_delta, self.rho)
        torch._foreach_addcmul_(acc_delta, delta, delta, value=1.0 - self.rho)
        torch._foreach_add_(params, delta, alpha=-lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
