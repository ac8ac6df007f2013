"""MonitorCallback: the shared part of callbacks that watch one logged value (EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau): which direction is better, what counts as an improvement, and a
clear warning when the value is not in the logs."""

from __future__ import annotations

import warnings

from lstmkit import backend
from lstmkit.callbacks.base import Callback
from lstmkit.utils.naming import unknown_name_error

__all__ = ["MonitorCallback", "say"]

# Names of quantities where larger is better; everything loss- or error-like is smaller-is-better.
_HIGHER_IS_BETTER = (
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "fmeasure",
    "f_score",
    "fbeta",
    "r2",
    "iou",
    "cosine_similarity",
    "true_positives",
    "true_negatives",
)
_LOWER_IS_BETTER = (
    "loss",
    "error",
    "mae",
    "mse",
    "mape",
    "msle",
    "rmse",
    "crossentropy",
    "hinge",
    "divergence",
    "kld",
    "poisson",
    "logcosh",
    "log_cosh",
    "huber",
    "false_positives",
    "false_negatives",
)


def _direction(name: str) -> str | None:
    """'max', 'min', or None when the name does not say."""
    base = name.removeprefix("val_").lower()
    if base == "loss" or base.endswith("_loss"):
        return "min"
    if any(word in base for word in _HIGHER_IS_BETTER):
        return "max"
    if any(word in base for word in _LOWER_IS_BETTER):
        return "min"
    return None


class MonitorCallback(Callback):
    """Base class: ``monitor`` (a key of the epoch logs), ``mode`` ('auto', 'min', 'max'), ``min_delta``.

    An improvement is ``value < best - min_delta`` in 'min' mode, ``value > best + min_delta`` in
    'max' mode; 'auto' takes the mode from the name ('loss', 'mae', ... -> min; 'accuracy', 'auc', ...
    -> max) and otherwise asks for an explicit mode.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(
                f"monitor must be the name of a logged value, e.g. 'val_loss'. Received: {monitor!r}"
            )
        if mode not in ("auto", "min", "max"):
            raise unknown_name_error(f"{type(self).__name__} mode", mode, ["auto", "min", "max"])
        try:
            min_delta = abs(float(min_delta))
        except (TypeError, ValueError):
            raise TypeError(f"min_delta must be a number. Received: min_delta={min_delta!r}") from None
        self.monitor = monitor
        self.mode = mode
        self.min_delta = min_delta
        self.best = None if baseline is None else float(baseline)
        self._resolved_mode = None
        self._warned_missing = False

    def resolved_mode(self) -> str:
        if self._resolved_mode is None:
            mode = self.mode if self.mode != "auto" else _direction(self.monitor)
            if mode is None:
                raise ValueError(
                    f"{type(self).__name__} cannot tell whether monitor={self.monitor!r} should go up or "
                    "down. Pass mode='min' (smaller is better, e.g. an error) or mode='max' (larger is "
                    "better, e.g. an accuracy)."
                )
            self._resolved_mode = mode
        return self._resolved_mode

    def is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        if self.resolved_mode() == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def monitor_value(self, logs, epoch=None):
        """The monitored value in ``logs`` as a float; None, with a warning once per training, if absent."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            if not self._warned_missing:
                self._warned_missing = True
                available = ", ".join(logs) or "none"
                hint = ""
                if self.monitor.startswith("val_"):
                    hint = (
                        " Values starting with 'val_' exist only when fit gets validation_data=(x_val, "
                        "y_val) or validation_split=..., and only on the epochs validation_freq selects."
                    )
                where = "" if epoch is None else f" of epoch {epoch + 1}"
                warnings.warn(
                    f"{type(self).__name__} is monitoring {self.monitor!r}, which is not in the logs{where}; "
                    f"available: {available}.{hint} Until it appears this callback does nothing.",
                    UserWarning,
                    stacklevel=3,
                )
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"{type(self).__name__} can only monitor a number; logs[{self.monitor!r}] is {value!r}."
            ) from None
        return value

    def on_train_begin(self, logs=None):
        self._warned_missing = False

    def backup_state(self):
        return {"best": self.best, "warned_missing": self._warned_missing}

    def restore_state(self, state) -> None:
        self.best, self._warned_missing = state["best"], state["warned_missing"]


def say(message: str) -> None:
    """Print a callback's message (verbose=1), from the main process only."""
    if backend.is_main_process():
        print(message, flush=True)
