"""LossScaleOptimizer: dynamic loss scaling for float16 training (Keras's ``mixed_precision.LossScaleOptimizer``).

float16 gradients below ~6e-8 become 0. The loss is multiplied by ``scale`` before the backward pass
(``scale_loss``), the gradients are divided by it before the update, and a step whose gradients hold inf
or NaN is skipped and halves the scale; after ``dynamic_growth_steps`` good steps in a row the scale
doubles (Keras's rule: initial scale 2**15, growth every 2000 steps). ``compile`` wraps the optimizer in
one when the model's policy is 'mixed_float16', as Keras does. Checking for inf reads one value back per
step.
"""

from __future__ import annotations

import torch

from lstmkit.optimizers.base import Optimizer

__all__ = ["LossScaleOptimizer"]


class LossScaleOptimizer(Optimizer):
    """``LossScaleOptimizer(inner_optimizer, dynamic=True, initial_scale=2**15, dynamic_growth_steps=2000)``."""

    def __init__(
        self, inner_optimizer, dynamic=True, initial_scale=2.0**15, dynamic_growth_steps=2000, **kwargs
    ):
        from lstmkit import optimizers

        self.inner_optimizer = optimizers.get(inner_optimizer)
        if isinstance(self.inner_optimizer, LossScaleOptimizer):
            raise TypeError(
                "LossScaleOptimizer wraps a plain optimizer; received another LossScaleOptimizer."
            )
        if float(initial_scale) <= 0 or int(dynamic_growth_steps) < 1:
            raise ValueError(
                "initial_scale must be > 0 and dynamic_growth_steps >= 1. Received: "
                f"initial_scale={initial_scale!r}, dynamic_growth_steps={dynamic_growth_steps!r}"
            )
        self.name = kwargs.pop("name", "loss_scale_optimizer")
        self.dynamic = bool(dynamic)
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.scale = self.initial_scale
        self.good_steps = 0

    # the inner optimizer's state and settings, seen through the wrapper
    learning_rate = property(
        lambda self: self.inner_optimizer.learning_rate,
        lambda self, value: setattr(self.inner_optimizer, "learning_rate", value),
    )
    lr = learning_rate
    iterations = property(
        lambda self: self.inner_optimizer.iterations,
        lambda self, value: setattr(self.inner_optimizer, "iterations", value),
    )

    @property
    def dynamic_scale(self) -> float:
        return self.scale

    def __getattr__(self, name):  # state, _slots, clipping options... of the inner optimizer
        if name == "inner_optimizer":
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    def scale_loss(self, loss):
        """The loss times the current scale (backpropagate this one)."""
        return loss * self.scale

    def zero_grad(self, params) -> None:
        self.inner_optimizer.zero_grad(params)

    def gradients(self, params):
        return self.inner_optimizer.gradients(params)

    def flat_gradient(self, params):
        return self.inner_optimizer.flat_gradient(params)

    def apply(self, params) -> None:
        """Unscale the gradients; apply them if all are finite, else skip the step and halve the scale."""
        params = [p for p in params if p.grad is not None]
        grads = [g for group in self.inner_optimizer.gradients(params) for g in group]
        with torch.no_grad():
            torch._foreach_mul_(grads, 1.0 / self.scale)
            finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) if grads else True
        if not finite:
            if self.dynamic:
                self.scale = max(self.scale / 2.0, 1.0)
            self.good_steps = 0
            return
        self.inner_optimizer.apply(params)
        if self.dynamic:
            self.good_steps += 1
            if self.good_steps >= self.dynamic_growth_steps:
                self.scale *= 2.0
                self.good_steps = 0

    def apply_gradients(self, grads_and_vars) -> None:
        self.inner_optimizer.apply_gradients(grads_and_vars)

    def state_scalars(self) -> dict:
        return {
            **self.inner_optimizer.state_scalars(),
            "loss_scale": self.scale,
            "good_steps": self.good_steps,
        }

    def load_state_scalars(self, scalars: dict) -> None:
        self.inner_optimizer.load_state_scalars(scalars)
        self.scale = float(scalars.get("loss_scale", self.initial_scale))
        self.good_steps = int(scalars.get("good_steps", 0))

    def get_config(self) -> dict:
        from lstmkit import optimizers

        return {
            "name": self.name,
            "inner_optimizer": optimizers.serialize(self.inner_optimizer),
            "dynamic": self.dynamic,
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config):
        from lstmkit import optimizers

        config = dict(config)
        config["inner_optimizer"] = optimizers.deserialize(config["inner_optimizer"])
        return cls(**config)

    def __repr__(self):
        return f"LossScaleOptimizer({self.inner_optimizer!r}, scale={self.scale:g})"
