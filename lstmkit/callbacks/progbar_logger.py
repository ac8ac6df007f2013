"""ProgbarLogger: the progress display of fit, evaluate and predict (added by ``verbose``)."""

from __future__ import annotations

import sys

from lstmkit import backend
from lstmkit.callbacks.base import Callback
from lstmkit.training.progress import Progbar

__all__ = ["ProgbarLogger"]


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` (when N > 1) and a progress line per epoch; validation inside ``fit`` is silent.

    In a distributed job only rank 0 prints (``lstmkit.backend.is_main_process()``), also when the
    callback is passed explicitly; its per-batch values are rank 0's share, the epoch's line is global.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self.progbar = None
        self._in_fit = False

    def _new_bar(self):
        if not backend.is_main_process():
            self.progbar = _Silent()
            return
        verbose = self.params.get("verbose", 1)
        self.progbar = Progbar(
            self.params.get("steps"),
            verbose=1 if verbose == "auto" else verbose,
            stream=self.stream or sys.stdout,
        )

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if epochs > 1 and backend.is_main_process():
            stream = self.stream or sys.stdout
            stream.write(f"Epoch {epoch + 1}/{epochs}\n")
            stream.flush()
        self._new_bar()

    def on_train_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.progbar.current, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self.progbar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self.progbar.update(self.progbar.current, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.progbar.current, None, finalize=True)


class _Silent:
    """The progress bar of processes other than rank 0: accepts updates, prints nothing."""

    current = 0

    def update(self, current, logs=None, finalize=False):
        self.current = current
