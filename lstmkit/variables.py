"""Variables as Keras code uses them: ``w.assign(value)``, ``w.assign_add(delta)``, ``w.numpy()``.

``Layer.add_weight`` and ``Metric.add_weight``/``add_variable`` return a ``Variable``: a torch parameter (so it
trains, moves with the model and is saved like any other) that also answers Keras's variable methods.
``LearningRate`` is what ``optimizer.learning_rate`` returns for a numeric rate: a float that can also be
assigned, so that Keras 2's ``K.set_value(model.optimizer.lr, 0.001)`` takes effect.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["LearningRate", "Variable"]


class Variable(torch.nn.Parameter):
    """A torch parameter with Keras's variable methods."""

    def assign(self, value):
        with torch.no_grad():
            self.copy_(torch.as_tensor(value, dtype=self.dtype, device=self.device).expand_as(self))
        return self

    def assign_add(self, delta):
        with torch.no_grad():
            self.add_(torch.as_tensor(delta, dtype=self.dtype, device=self.device))
        return self

    def assign_sub(self, delta):
        with torch.no_grad():
            self.sub_(torch.as_tensor(delta, dtype=self.dtype, device=self.device))
        return self

    def numpy(self) -> np.ndarray:
        return self.detach().cpu().numpy()

    @property
    def value(self) -> torch.Tensor:
        return self

    def __repr__(self):
        return f"<Variable shape={tuple(self.shape)}, dtype={str(self.dtype).replace('torch.', '')}>"


class LearningRate(float):
    """An optimizer's numeric learning rate: a float, plus ``assign`` (Keras 3) for ``K.set_value``."""

    def __new__(cls, value: float, optimizer=None):
        rate = super().__new__(cls, value)
        rate._optimizer = optimizer
        return rate

    def assign(self, value):
        if self._optimizer is None:
            raise TypeError(
                "This learning rate is not attached to an optimizer; set optimizer.learning_rate instead."
            )
        self._optimizer.learning_rate = float(value)
        return LearningRate(float(value), self._optimizer)

    def numpy(self) -> float:
        return float(self)
