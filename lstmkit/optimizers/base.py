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

from lstmkit.optimizers.plan import ParamGroup
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

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        legacy_lr = kwargs.pop("lr", None)
        legacy_decay = kwargs.pop("decay", None)
        reject_unknown_kwargs(
            type(self).__name__,
            kwargs,
            [
                "learning_rate",
                "lr",
                "decay",
                "weight_decay",
                "clipnorm",
                "clipvalue",
                "global_clipnorm",
                "name",
            ],
        )
        if legacy_lr is not None:
            learning_rate = legacy_lr  # Keras 2 spelling; it must take effect.
        clips = [
            n
            for n, v in (
                ("clipnorm", clipnorm),
                ("clipvalue", clipvalue),
                ("global_clipnorm", global_clipnorm),
            )
            if v is not None
        ]
        if len(clips) > 1:
            raise ValueError(
                f"Use only one of clipnorm, clipvalue, global_clipnorm. Received: {', '.join(clips)}."
            )
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
        """The base learning rate (a float, also assignable: ``optimizer.learning_rate.assign(0.01)`` or
        Keras 2's ``K.set_value(optimizer.lr, 0.01)``) or a schedule. Settable between epochs."""
        from lstmkit.variables import LearningRate

        rate = self._learning_rate
        return rate if callable(rate) else LearningRate(rate, self)

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
            raise ValueError(
                f"learning_rate must be a non-negative number. Received: learning_rate={value!r}"
            )
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
            return torch._foreach_mul(
                grads, self.global_clipnorm / torch.clamp(total, min=self.global_clipnorm)
            )
        return grads

    def zero_grad(self, params) -> None:
        """Clear the gradients of ``params`` before a backward pass (call it instead of setting them to None:
        on the CPU gradients accumulate into one flat buffer; see plan.py)."""
        for group in self._plan(params):
            group.zero_grad()

    def gradients(self, params) -> list[list[torch.Tensor]]:
        """The gradient tensors the next ``apply`` reads, one list per group of parameters: on the CPU one
        flat buffer holding every gradient (change it in place, e.g. all-reduce it), elsewhere the
        parameters' own ``.grad`` tensors."""
        return [
            [group.flat_grad]
            if group.flat_grad is not None
            else [p.grad for p in group.params if p.grad is not None]
            for group in self._plan(params)
        ]

    def flat_gradient(self, params) -> torch.Tensor | None:
        """The one buffer that holds the gradients of ``params`` end to end in their order (CPU, one dtype;
        see plan.py), after ``zero_grad(params)``; None when they are kept apart (GPU, mixed dtypes)."""
        plan = self._plan(params)
        if len(plan) == 1 and plan[0].flat_grad is not None:
            return plan[0].flat_grad
        return None

    def apply(self, params) -> None:
        """One update of ``params`` from their ``.grad`` (parameters without a gradient are skipped)."""
        params = [p for p in params if p.grad is not None]
        lr = self.current_learning_rate()
        with torch.no_grad():
            for group in self._plan(params):
                gs = self._clip(group.grads())
                if self.weight_decay:
                    torch._foreach_mul_(group.tensors, 1.0 - self.weight_decay * lr)
                self._update(group.tensors, gs, group.slots, lr, self.iterations + 1)
        self.iterations += 1

    def _plan(self, params) -> list[ParamGroup]:
        """Parameters grouped by (device, dtype) in a stable order, made once per set of parameters (the plan
        keeps the parameters alive, so their ids stay unique)."""
        key = tuple(map(id, params))
        plan = self._plans.get(key)
        if plan is None:
            groups = defaultdict(list)
            for p in params:
                groups[(p.device, p.dtype)].append(p)
            plan = self._plans[key] = [ParamGroup(self, ps) for ps in groups.values()]
        return plan

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras API: ``apply_gradients(zip(grads, params))``."""
        params = []
        for grad, param in grads_and_vars:
            param.grad = (
                None if grad is None else torch.as_tensor(grad, dtype=param.dtype, device=param.device)
            )
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
        config = {
            "name": self.name,
            "learning_rate": rate if not callable(rate) else _serialize_schedule(rate),
        }
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ------------------------------------------------------------------ state, for saving and restoring
    def state_scalars(self) -> dict:
        """The plain numbers the next update depends on besides the slots: ``iterations`` (subclasses add
        their own). Saved with the model so that training continues exactly where it stopped."""
        return {"iterations": int(self.iterations)}

    def load_state_scalars(self, scalars: dict) -> None:
        """Restore what ``state_scalars`` returned."""
        self.iterations = int(scalars["iterations"])

    def slot_names(self) -> tuple[str, ...]:
        """The names of the per-parameter state tensors, in a fixed order (e.g. ('momentum', 'velocity'))."""
        return tuple(self._slots)

    def get_slots(self, params) -> list[dict[str, torch.Tensor] | None]:
        """For each of ``params`` (in that order) its state tensors by slot name, or None for a parameter
        that has not been updated yet. The tensors are the live ones; copy them before changing them."""
        return [dict(self.state[p]) if p in self.state else None for p in params]

    def set_slots(self, params, slots) -> None:
        """Restore ``get_slots``'s result onto ``params`` (same order). Values are copied to each
        parameter's device and dtype; None clears a parameter's state."""
        params, slots = list(params), list(slots)
        if len(params) != len(slots):
            raise ValueError(
                f"set_slots needs one entry per parameter: {len(params)} parameters, {len(slots)} entries."
            )
        for param, values in zip(params, slots):
            if values is None:
                self.state.pop(param, None)
                continue
            restored = {}
            for name, value in values.items():
                value = torch.as_tensor(value)
                if tuple(value.shape) != tuple(param.shape):
                    raise ValueError(
                        f"Optimizer slot {name!r} has shape {tuple(value.shape)}; its parameter "
                        f"has shape {tuple(param.shape)}."
                    )
                restored[name] = value.to(device=param.device, dtype=param.dtype).clone()
            self.state[param] = restored
        self._plans = {}  # plans hold the old slot tensors

    def variables_for(self, params) -> list[torch.Tensor]:
        """The optimizer state of ``params`` in a fixed order (for saving)."""
        return [self._slot(p, name) for p in params for name in self._slots]

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _serialize_schedule(schedule):
    if hasattr(schedule, "get_config"):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
    return repr(schedule)
