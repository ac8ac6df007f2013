"""The Adam family with Keras 3's exact formulas: Adam, AdamW, Adamax, Nadam.

Keras adds ``epsilon`` to ``sqrt(v)`` *after* folding the bias corrections into the step size
(``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``), which differs from torch's Adam; this
follows Keras.
"""

from __future__ import annotations

import math

import torch

from lstmkit.optimizers.base import Optimizer

__all__ = ["Adam", "AdamW", "Adamax", "Nadam"]


def _check_beta(value, what):
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{what} must be in [0, 1). Received: {what}={value}")
    return value


class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)``.

    Update at step t: ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``var -= alpha * m / (sqrt(v) + epsilon)`` with ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_beta(beta_1, "beta_1")
        self.beta_2 = _check_beta(beta_2, "beta_2")
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        self._slots = ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def _update(self, params, grads, slots, lr, step):
        m, v = slots["momentum"], slots["velocity"]
        alpha = lr * math.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(slots["velocity_hat"], v)
            v = slots["velocity_hat"]
        denominator = torch._foreach_sqrt(v)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominator, value=-alpha)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay; Keras's default ``weight_decay=0.004``."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


class Adamax(Optimizer):
    """``Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.

    ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``; ``var -= lr * m / ((1 - beta_1**t)(u + eps))``.
    """

    _slots = ("m", "u")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_beta(beta_1, "beta_1")
        self.beta_2 = _check_beta(beta_2, "beta_2")
        self.epsilon = float(epsilon)

    def _update(self, params, grads, slots, lr, step):
        m, u = slots["m"], slots["u"]
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominator = torch._foreach_add(u, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominator, value=-lr / (1.0 - self.beta_1**step))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """``Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`` with Keras 3's momentum
    schedule ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``."""

    _slots = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_beta(beta_1, "beta_1")
        self.beta_2 = _check_beta(beta_2, "beta_2")
        self.epsilon = float(epsilon)
        self._u_product = 1.0

    def _u(self, step):
        return self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def apply(self, params):
        # The running product of u_t advances once per step, before the update (as in Keras).
        self._u_product *= self._u(self.iterations + 1)
        super().apply(params)

    def state_scalars(self):
        return {**super().state_scalars(), "u_product": self._u_product}

    def load_state_scalars(self, scalars):
        super().load_state_scalars(scalars)
        if "u_product" in scalars:
            self._u_product = float(scalars["u_product"])
        else:  # the running product is determined by the step count
            self._u_product = math.prod(self._u(t) for t in range(1, self.iterations + 1))

    def _update(self, params, grads, slots, lr, step):
        m, v = slots["momentum"], slots["velocity"]
        u_t, u_next = self._u(step), self._u(step + 1)
        u_product_next = self._u_product * u_next
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.beta_2)
        m_hat = torch._foreach_mul(m, u_next / (1.0 - u_product_next))
        torch._foreach_add_(m_hat, grads, alpha=(1.0 - u_t) / (1.0 - self._u_product))
        denominator = torch._foreach_sqrt(torch._foreach_div(v, 1.0 - self.beta_2**step))
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_addcdiv_(params, m_hat, denominator, value=-lr)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
