"""EpochLogs: the loss and metrics of one pass, accumulated on the device."""

from __future__ import annotations

from collections.abc import Mapping

from lstmkit.training.compile_config import masked_weights

__all__ = ["EpochLogs"]


class EpochLogs(Mapping):
    """Running loss and metrics. A read-only mapping (``logs['loss']``): reading a value synchronises with
    the device, so per-batch callbacks get this object itself and only pay when they look.

    Metrics are resolved (``'accuracy'`` -> binary/categorical/sparse) from the first batch's shapes.
    """

    def __init__(self, compiled, prefix=""):
        self.compiled, self.prefix = compiled, prefix
        self.metrics = compiled.metrics  # None until the first batch when not yet resolved
        self.reset()

    def reset(self):
        self.loss_total, self.count = None, 0
        for m in self.metrics or []:
            m.reset_state()

    def update(self, loss, n, y, pred, weight=None):
        weighted = loss.detach() * n
        self.loss_total = weighted if self.loss_total is None else self.loss_total + weighted
        self.count += n
        if self.metrics is None:
            self.metrics = self.compiled.resolve_metrics(tuple(y.shape), (None,) + tuple(pred.shape[1:]))
            self.reset_metrics_only()
        mask = getattr(pred, "_keras_mask", None)
        for m in self.metrics:
            metric_weight = weight if getattr(m, "weighted", False) else None
            if mask is not None:  # metrics count unmasked timesteps only
                metric_weight = masked_weights(mask, metric_weight, reduction="sum")
            m.update_state(y, pred, metric_weight)

    def reset_metrics_only(self):
        for m in self.metrics:
            m.reset_state()

    def _names(self):
        return ["loss"] + [m.name for m in self.metrics or []]

    def _value(self, name):
        if name == "loss":
            return float(self.loss_total) / max(self.count, 1) if self.loss_total is not None else float("nan")
        return next(m for m in self.metrics if m.name == name).result()

    def __getitem__(self, key):
        if not key.startswith(self.prefix) or key[len(self.prefix):] not in self._names():
            raise KeyError(key)
        return self._value(key[len(self.prefix):])

    def __iter__(self):
        return iter(self.prefix + name for name in self._names())

    def __len__(self):
        return len(self._names())

    def results(self) -> dict:
        """All values as floats (one synchronisation)."""
        return {key: self[key] for key in self}
