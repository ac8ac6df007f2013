"""Callbacks that change the learning rate between epochs: LearningRateScheduler and ReduceLROnPlateau.

Both set ``model.optimizer.learning_rate`` (the base rate; Keras 2's ``decay`` still applies on top)
and add the rate in force to the epoch logs as ``'learning_rate'``, as Keras 3 does, so that it
appears in ``history.history`` and in later callbacks (e.g. a CSVLogger placed after them).
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings

import numpy as np

from lstmkit.callbacks.base import Callback
from lstmkit.callbacks.monitor import MonitorCallback, say
from lstmkit.utils.checks import check_int, check_number
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["LearningRateScheduler", "ReduceLROnPlateau"]


def _optimizer(callback):
    optimizer = getattr(callback.model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise RuntimeError(
            f"{type(callback).__name__} needs a compiled model with an optimizer: call "
            "model.compile(optimizer=..., loss=...) before fit."
        )
    return optimizer


def _current_rate(callback) -> float:
    optimizer = _optimizer(callback)
    rate = optimizer.learning_rate
    if callable(rate):
        raise TypeError(
            f"{type(callback).__name__} sets the learning rate each epoch, but the optimizer's learning_rate "
            f"is a schedule ({type(rate).__name__}), which already decides the rate at every step. Use one "
            "or the other: give the optimizer a number (e.g. Adam(learning_rate=0.001)) or drop the callback."
        )
    return float(rate)


def _log_rate(callback, logs) -> None:
    if logs is not None:
        rate = _optimizer(callback).learning_rate
        if not callable(rate):
            logs["learning_rate"] = float(rate)


def _positional_arity(function) -> int | None:
    """How many positional arguments ``function`` can take (None if it cannot be told, or any number)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


class LearningRateScheduler(Callback):
    """``LearningRateScheduler(schedule, verbose=0)``: at the start of each epoch, sets the learning rate
    to ``schedule(epoch, lr)`` (epoch 0-based, lr the current rate) or, for a one-argument function,
    ``schedule(epoch)`` (Keras 2). The result must be a finite number >= 0.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a function schedule(epoch, lr) -> new_lr. Received: {schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose
        arity = _positional_arity(schedule)
        self._takes_rate = arity is None or arity >= 2

    def on_epoch_begin(self, epoch, logs=None):
        rate = _current_rate(self)
        new_rate = self.schedule(epoch, rate) if self._takes_rate else self.schedule(epoch)
        if (
            isinstance(new_rate, bool)
            or not isinstance(new_rate, numbers.Real)
            or not math.isfinite(new_rate)
            or new_rate < 0
        ):
            raise ValueError(
                f"The schedule of LearningRateScheduler must return a finite number >= 0; for epoch {epoch} "
                f"it returned {new_rate!r}."
            )
        _optimizer(self).learning_rate = float(new_rate)
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        _log_rate(self, logs)


class ReduceLROnPlateau(MonitorCallback):
    """``ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10, verbose=0, mode='auto',
    min_delta=1e-4, cooldown=0, min_lr=0)``: multiply the learning rate by ``factor`` (never below
    ``min_lr``) once ``patience`` epochs in a row did not improve ``monitor`` by more than
    ``min_delta``; then wait ``cooldown`` epochs before counting again. Keras 2's ``epsilon=`` is
    accepted as ``min_delta``.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn(
                "ReduceLROnPlateau: `epsilon` is Keras 2's name; use `min_delta`.",
                DeprecationWarning,
                stacklevel=2,
            )
        reject_unknown_kwargs(
            "ReduceLROnPlateau",
            kwargs,
            [
                "monitor",
                "factor",
                "patience",
                "verbose",
                "mode",
                "min_delta",
                "cooldown",
                "min_lr",
                "epsilon",
            ],
        )
        super().__init__(monitor, mode, min_delta=min_delta)
        owner = "ReduceLROnPlateau"
        factor = check_number(
            factor, "factor (it multiplies the learning rate)", 0, 1, owner=owner, exclusive_maximum=True
        )
        patience = check_int(patience, "patience", 0, owner=owner)
        cooldown = check_int(cooldown, "cooldown", 0, owner=owner)
        min_lr = check_number(min_lr, "min_lr", 0, owner=owner)
        self.factor, self.patience, self.cooldown, self.min_lr = factor, patience, cooldown, min_lr
        self.verbose = verbose
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def backup_state(self):
        return {**super().backup_state(), "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def restore_state(self, state) -> None:
        super().restore_state(state)
        self.wait, self.cooldown_counter = state["wait"], state["cooldown_counter"]

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        _log_rate(self, logs)
        current = self.monitor_value(logs, epoch)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch, logs):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch, logs) -> bool:
        old = _current_rate(self)
        # Keras compares in float32 (its variables' precision): a rate already at min_lr is left alone.
        if not old > float(np.float32(self.min_lr)):
            return False
        new = max(old * self.factor, self.min_lr)
        _optimizer(self).learning_rate = new
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True
