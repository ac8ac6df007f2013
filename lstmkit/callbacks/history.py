"""History: what ``fit`` returns."""

from __future__ import annotations

from lstmkit.callbacks.base import Callback

__all__ = ["History"]


class History(Callback):
    """Records the epoch-end logs: ``history.history['loss']`` is one float per epoch, as are the
    metrics and their ``val_`` counterparts; ``history.epoch`` lists the epoch indices."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"
