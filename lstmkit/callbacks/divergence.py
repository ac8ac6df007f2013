"""LossWatch: the warning every ``fit`` gives when its training loss stops being a number.

A NaN or infinite loss ruins the weights within a step or two, and nothing else tells the user: the
history just fills with ``nan``. ``fit`` adds this callback itself. It reads the epoch's loss, which the
loop computes once per epoch anyway, so watching costs no synchronisation with the device per batch;
``TerminateOnNaN`` stops at the first bad batch instead (at the cost of one synchronisation per batch).
"""

from __future__ import annotations

import math
import warnings

from lstmkit import backend
from lstmkit.callbacks.base import Callback

__all__ = ["LossWatch"]


class LossWatch(Callback):
    """Warns once per ``fit``, at the end of the first epoch whose training loss is NaN or infinite,
    with the likely causes and their fixes."""

    def __init__(self):
        super().__init__()
        self.warned = False

    def on_train_begin(self, logs=None):
        self.warned = False

    def backup_state(self):
        return {"warned": self.warned}

    def restore_state(self, state) -> None:
        self.warned = state["warned"]

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.warned or loss is None or math.isfinite(float(loss)) or not backend.is_main_process():
            return
        self.warned = True
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        rate_text = f"{float(rate):g}" if isinstance(rate, (int, float)) else "its current value"
        warnings.warn(
            f"The training loss became {float(loss)} in epoch {epoch + 1}: the weights are probably NaN now "
            "and training cannot recover. Likely causes, most common first:\n"
            f"  - the learning rate is too high for this problem (it is {rate_text}; try 10x lower);\n"
            "  - the data is not scaled (inputs or targets in the hundreds or more; scale them to about "
            "[-1, 1], e.g. with sklearn's MinMaxScaler or StandardScaler, and invert the scaling on "
            "predictions);\n"
            "  - exploding gradients, common in recurrent networks: give the optimizer clipnorm=1.0, e.g. "
            "Adam(clipnorm=1.0).\n"
            "Add callbacks=[TerminateOnNaN()] to stop at the first batch whose loss is NaN.",
            UserWarning,
            stacklevel=2,
        )
