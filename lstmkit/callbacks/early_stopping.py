"""EarlyStopping: stop ``fit`` when a monitored value stops improving."""

from __future__ import annotations

import torch

from lstmkit.callbacks.monitor import MonitorCallback, say
from lstmkit.utils.checks import check_int, check_number

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """``EarlyStopping(monitor='val_loss', min_delta=0, patience=0, verbose=0, mode='auto', baseline=None,
    restore_best_weights=False, start_from_epoch=0)``, with Keras 3's rules:

    - An epoch improves when the monitored value beats the best so far by more than ``min_delta``
      (lower for losses/errors, higher for accuracies; ``mode`` overrides).
    - Training stops once ``patience`` epochs in a row did not improve (never after the first epoch).
    - ``baseline``: an improvement resets the patience count only if it also beats the baseline.
    - ``start_from_epoch``: epochs before it are not monitored (a warm-up).
    - ``restore_best_weights=True``: at the end of training the weights of the best epoch are put
      back — also when training ran all its epochs without stopping early (as Keras 3 does; Keras 2
      restored them only after an early stop, which left a worse last epoch's weights in the model).

    A missing monitored value (e.g. 'val_loss' without validation data) gives one warning listing
    the logged values, and the callback does nothing until it appears. After training,
    ``stopped_epoch`` (0-based, 0 if it did not stop) and ``best_epoch`` tell what happened.
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = check_int(patience, "patience", 0, owner="EarlyStopping")
        self.verbose = verbose
        self.baseline = check_number(baseline, "baseline", allow_none=True, owner="EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_int(start_from_epoch, "start_from_epoch", 0, owner="EarlyStopping")
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def backup_state(self):
        return {
            **super().backup_state(),
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
        }

    def restore_state(self, state) -> None:
        super().restore_state(state)
        self.wait, self.stopped_epoch, self.best_epoch = (
            state["wait"],
            state["stopped_epoch"],
            state["best_epoch"],
        )
        weights = state["best_weights"]
        self.best_weights = None if weights is None else [w.to(self.model.current_device()) for w in weights]

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitor_value(logs, epoch)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot()
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                say(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self._restore(self.best_weights)

    # Weights are copied on their device (no transfer to the host) in Keras's order and layout.
    def _snapshot(self) -> list[torch.Tensor]:
        return [w.read().detach().clone() for w in self.model.keras_weights()]

    def _restore(self, values) -> None:
        with torch.no_grad():
            for weight, value in zip(self.model.keras_weights(), values):
                weight.write(value)
