"""TerminateOnNaN: stop training as soon as the loss becomes NaN or infinite."""

from __future__ import annotations

import math

from lstmkit.callbacks.base import Callback
from lstmkit.callbacks.monitor import say

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """``TerminateOnNaN(raise_error=False)``: after each training batch, if the loss is NaN or infinite,
    stop ``fit`` (``model.stop_training = True``; the epoch ends there) or, with ``raise_error=True``,
    raise a RuntimeError at once.

    It reads the loss after every batch, which waits for the device each time: use it while
    debugging a diverging model rather than in every run.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or infinite loss at batch {batch} (loss={loss}); training stopped. Lower the "
                    "learning rate, clip gradients (clipnorm=1.0) or check the data for NaNs."
                )
            say(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
