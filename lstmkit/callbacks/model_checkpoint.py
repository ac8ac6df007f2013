"""ModelCheckpoint: save the model (or its weights) during training."""

from __future__ import annotations

import os

from lstmkit import backend
from lstmkit.callbacks.base import check_frequency
from lstmkit.callbacks.hooks import add_hooks
from lstmkit.callbacks.monitor import MonitorCallback, say
from lstmkit.saving.writing import check_target
from lstmkit.utils.checks import check_int
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """``ModelCheckpoint(filepath, monitor='val_loss', verbose=0, save_best_only=False,
    save_weights_only=False, mode='auto', save_freq='epoch', initial_value_threshold=None)``.

    filepath: where to save; may hold fields filled from the epoch number (1-based) and the logs, e.g.
        ``'ckpt-{epoch:02d}-{val_loss:.2f}.keras'`` (and ``{batch}`` with a batch ``save_freq``). Any
        extension works: the file is always lstmkit's one-file format (``model.save``), or its
        weights-only form with ``save_weights_only=True`` (``model.save_weights``). Missing parent
        directories are created. Every write is atomic, so a run killed mid-save keeps the previous
        checkpoint loadable.
    save_best_only: save only when ``monitor`` improved on the best value so far (which starts at
        ``initial_value_threshold``); if ``monitor`` is not in the logs the model is saved anyway,
        after a warning (as Keras does).
    save_freq: 'epoch', or an integer N to save every N training batches.
    period: Keras 2's argument, save every ``period`` epochs.

    Files are written by the main process only (``lstmkit.backend.is_main_process()``).
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        options=None,
        **kwargs,
    ):
        period = kwargs.pop("period", None)
        reject_unknown_kwargs(
            "ModelCheckpoint",
            kwargs,
            [
                "filepath",
                "monitor",
                "verbose",
                "save_best_only",
                "save_weights_only",
                "mode",
                "save_freq",
                "initial_value_threshold",
                "options",
                "period",
            ],
        )
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"filepath must be a path (str or os.PathLike). Received: {filepath!r}") from None
        if options is not None:
            raise ValueError(
                "ModelCheckpoint: options= is a TensorFlow SavedModel option that lstmkit does not have. "
                f"Leave it out. Received: options={options!r}"
            )
        save_freq = check_frequency(save_freq, "save_freq", "ModelCheckpoint")
        period = check_int(period, "period", 1, allow_none=True, owner="ModelCheckpoint", meaning="epochs")
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = save_freq
        self.period = period or 1
        self._epochs_since_save = 0
        self._batches_since_save = 0
        self._current_epoch = 0
        if save_freq != "epoch":
            add_hooks(self, {"on_train_batch_end": ModelCheckpoint._save_on_batch})

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if backend.is_main_process():  # fail now, naming the path, not after the first epoch's training
            check_target(_checkable(self.filepath), "ModelCheckpoint's checkpoints")

    def backup_state(self):
        return {
            **super().backup_state(),
            "epochs_since_save": self._epochs_since_save,
            "batches_since_save": self._batches_since_save,
        }

    def restore_state(self, state) -> None:
        super().restore_state(state)
        self._epochs_since_save = state["epochs_since_save"]
        self._batches_since_save = state["batches_since_save"]

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return
        self._epochs_since_save += 1
        if self._epochs_since_save >= self.period:
            self._epochs_since_save = 0
            self._save(epoch, None, logs)

    def _save_on_batch(self, batch, logs=None):
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    # ------------------------------------------------------------------ saving
    def _save(self, epoch, batch, logs) -> None:
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = self.monitor_value(logs, epoch)
            if current is not None:
                best = "None" if self.best is None else f"{self.best:.5f}"
                if not self.is_improvement(current, self.best):
                    if self.verbose > 0:
                        say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                    return
                if self.verbose > 0:
                    say(
                        f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving "
                        f"model to {filepath}"
                    )
                self.best = current
        elif self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        if not backend.is_main_process():
            return
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _file_path(self, epoch, batch, logs) -> str:
        fields = {key: logs[key] for key in logs}
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in fields:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            missing = err.args[0]
            hint = ""
            if str(missing).startswith("val_"):
                hint = " 'val_' values exist only when fit gets validation_data or validation_split."
            raise ValueError(
                f"ModelCheckpoint cannot fill in filepath {self.filepath!r}: there is no {missing!r} in the "
                f"logs (available: {', '.join(fields)}).{hint}"
            ) from None
        except (ValueError, IndexError) as err:
            raise ValueError(
                f"ModelCheckpoint cannot fill in filepath {self.filepath!r} ({err}). Use named fields such "
                "as {epoch:02d} or {val_loss:.2f}; write literal braces as {{ and }}."
            ) from None


def _checkable(filepath: str) -> str:
    """A file to test for writability: ``filepath`` itself, or, when it has {fields}, a file in the deepest
    directory before the first field (the rest is only known at save time)."""
    if "{" not in filepath:
        return filepath
    directory = os.path.dirname(filepath[: filepath.index("{")])
    return os.path.join(directory or ".", "checkpoint")
