"""The Optimizer base: Keras's arguments and update order, executed with torch's multi-tensor ops.

One ``apply`` does what Keras's ``apply_gradients`` does, in Keras's order: clip the gradients
(``clipnorm`` / ``clipvalue`` / ``global_clipnorm``), decay the weights (``var -= var * wd * lr``),
then the optimizer's own update. Every update is a handful of ``torch._foreach_*`` calls over all
parameters at once (no per-parameter Python loop) and reads no value back to the host.

The Keras 2 spellings ``lr=`` (for ``learning_rate``) and ``decay=`` (time-based decay,
``lr / (1 + decay * iterations)``) are accepted and take effect.
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch

from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["Optimizer"]


def _check_non_negative(value, what):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a non-negative number. Received: {what}={value}")
    return value


class Optimizer:
    """Base class. Subclasses define ``_slots`` (names of per-parameter state) and ``_update``."""

    _slots: tuple[str, ...] = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        legacy_lr = kwargs.pop("lr", None)
        legacy_decay = kwargs.pop("decay", None)
        reject_unknown_kwargs(type(self).__name__, kwargs,
                              ["learning_rate", "lr", "decay", "weight_decay", "clipnorm", "clipvalue",
                               "global_clipnorm", "name"])
        if legacy_lr is not None:
            learning_rate = legacy_lr  # Keras 2 spelling; it must take effect.
        clips = [n for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(clips) > 1:
            raise ValueError(f"Use only one of clipnorm, clipvalue, global_clipnorm. Received: {', '.join(clips)}.")
        self.name = name or type(self).__name__.lower()
        self.learning_rate = learning_rate
        self.decay = _check_non_negative(legacy_decay, "decay") or 0.0
        self.weight_decay = _check_non_negative(weight_decay, "weight_decay")
        self.clipnorm = _check_non_negative(clipnorm, "clipnorm")
        self.clipvalue = _check_non_negative(clipvalue, "clipvalue")
        self.global_clipnorm = _check_non_negative(global_clipnorm, "global_clipnorm")
        self.iterations = 0
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}
        self._plans: dict[tuple, list] = {}

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The base learning rate (a float) or a schedule. Settable between epochs."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value) and not isinstance(value, (int, float)):
            self._learning_rate = value
            return
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"learning_rate must be a number or a schedule. Received: {value!r}") from None
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"learning_rate must be a non-negative number. Received: learning_rate={value!r}")
        self._learning_rate = rate

    lr = learning_rate  # Keras 2 attribute name

    def current_learning_rate(self) -> float:
        """The rate the next step uses: the schedule's value, with Keras 2 ``decay`` applied."""
        rate = self._learning_rate
        if callable(rate):
            rate = float(rate(self.iterations))
        if self.decay:
            rate = rate / (1.0 + self.decay * self.iterations)
        return rate

    # ------------------------------------------------------------------ applying
    def _slot(self, param: torch.Tensor, name: str) -> torch.Tensor:
        state = self.state.setdefault(param, {})
        if name not in state:
            state[name] = self._initial_slot(name, param)
        return state[name]

    def _initial_slot(self, name: str, param: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(param, memory_format=torch.preserve_format)

    def _clip(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.clipvalue is not None:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            norms = torch._foreach_norm(grads)
            scales = [self.clipnorm / torch.clamp(n, min=self.clipnorm) for n in norms]
            return torch._foreach_mul(grads, scales)
        if self.global_clipnorm is not None:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            return torch._foreach_mul(grads, self.global_clipnorm / torch.clamp(total, min=self.global_clipnorm))
        return grads

    def apply(self, params) -> None:
        """One update of ``params`` from their ``.grad`` (parameters without a gradient are skipped)."""
        params = [p for p in params if p.grad is not None]
        key = tuple(map(id, params))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._make_plan(params)
        lr = self.current_learning_rate()
        with torch.no_grad():
            for ps, slots in plan:
                gs = self._clip([p.grad for p in ps])
                if self.weight_decay:
                    torch._foreach_mul_(ps, 1.0 - self.weight_decay * lr)
                self._update(ps, gs, slots, lr, self.iterations + 1)
        self.iterations += 1

    def _make_plan(self, params):
        """Parameters grouped by (device, dtype), each group with its slot tensors, in a stable order.

        Computed once per set of parameters; the plan keeps the parameters alive, so their ids stay unique.
        """
        groups = defaultdict(list)
        for p in params:
            groups[(p.device, p.dtype)].append(p)
        return [(ps, {name: [self._slot(p, name) for p in ps] for name in self._slots}) for ps in groups.values()]

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras API: ``apply_gradients(zip(grads, params))``."""
        params = []
        for grad, param in grads_and_vars:
            param.grad = None if grad is None else torch.as_tensor(grad, dtype=param.dtype, device=param.device)
            params.append(param)
        self.apply(params)

    def _update(self, params, grads, slots, lr: float, step: int) -> None:
        raise NotImplementedError

    def move_state(self, device) -> None:
        """Move the optimizer's state tensors to ``device`` (after the model moved there)."""
        for slots in self.state.values():
            for name, value in slots.items():
                slots[name] = value.to(device)
        self._plans = {}

    # ------------------------------------------------------------------ config and state
    def get_config(self) -> dict:
        rate = self._learning_rate
        config = {"name": self.name, "learning_rate": rate if not callable(rate) else _serialize_schedule(rate)}
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def variables_for(self, params) -> list[torch.Tensor]:
        """The optimizer state of ``params`` in a fixed order (for saving)."""
        return [self._slot(p, name) for p in params for name in self._slots]

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _serialize_schedule(schedule):
    if hasattr(schedule, "get_config"):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
    return repr(schedule)
