"""EpochLogs: the loss and metrics of one pass, accumulated on the device."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from lstmkit.metrics import Mean, Precision, Recall
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
        self._merged: dict = {}  # results of metrics merged by weight (see synchronize)
        for m in self.metrics or []:
            m.reset_state()

    def update(self, loss, n, y, pred, weight=None):
        weighted = loss.detach() * n
        self.loss_total = weighted if self.loss_total is None else self.loss_total + weighted
        self.count += n
        if self.metrics is None:
            self.resolve(y, pred)
        mask = getattr(pred, "_keras_mask", None)
        for m in self.metrics:
            metric_weight = weight if getattr(m, "weighted", False) else None
            if mask is not None:  # metrics count unmasked timesteps only
                metric_weight = masked_weights(mask, metric_weight, reduction="sum")
            m.update_state(y, pred, metric_weight)

    def resolve(self, y, pred) -> None:
        """Resolve the metrics from a batch's shapes without counting the batch (a padding batch)."""
        if self.metrics is None:
            self.metrics = self.compiled.resolve_metrics(tuple(y.shape), (None,) + tuple(pred.shape[1:]))
            self.reset_metrics_only()

    def synchronize(self, sum_, device) -> None:
        """Replace the totals of this process by those of all processes: ``sum_(tensor)`` sums a float64
        tensor on ``device`` over them in place (one collective: the loss, the count, every metric's state).

        Additive states (``Mean``'s total and count, Precision/Recall's counts) are summed exactly; any
        other metric contributes its result weighted by this process's sample count."""
        metrics = self.metrics or []
        parts = [
            self.loss_total if self.loss_total is not None else torch.zeros(()),
            torch.tensor(float(self.count)),
        ]
        for m in metrics:
            parts += _metric_state(m, self.count)
        values = sum_(torch.stack([p.to(device=device, dtype=torch.float64).reshape(()) for p in parts]))
        self.loss_total, self.count = values[0], int(values[1].item())
        position = 2
        for m in metrics:
            position = _load_metric_state(m, values, position, self._merged)

    def reset_metrics_only(self):
        for m in self.metrics:
            m.reset_state()

    def _names(self):
        return ["loss"] + [m.name for m in self.metrics or []]

    def _value(self, name):
        if name == "loss":
            return (
                float(self.loss_total) / max(self.count, 1) if self.loss_total is not None else float("nan")
            )
        if name in self._merged:
            return self._merged[name]
        return next(m for m in self.metrics if m.name == name).result()

    def __getitem__(self, key):
        if not key.startswith(self.prefix) or key[len(self.prefix) :] not in self._names():
            raise KeyError(key)
        return self._value(key[len(self.prefix) :])

    def __iter__(self):
        return iter(self.prefix + name for name in self._names())

    def __len__(self):
        return len(self._names())

    def results(self) -> dict:
        """All values as floats (one synchronisation)."""
        return {key: self[key] for key in self}


def _state_names(metric) -> tuple[str, ...] | None:
    if isinstance(metric, Mean):
        return ("total", "count")
    if isinstance(metric, (Precision, Recall)):
        return ("tp", "fp", "fn")
    return None


def _metric_state(metric, count: int) -> list:
    """The tensors to sum for ``metric``: its additive state, or (result x count, count)."""
    names = _state_names(metric)
    if names is None:
        return [torch.tensor(float(metric.result()) * count if count else 0.0), torch.tensor(float(count))]
    return [getattr(metric, n) if getattr(metric, n) is not None else torch.zeros(()) for n in names]


def _load_metric_state(metric, values, position: int, merged: dict) -> int:
    names = _state_names(metric)
    if names is None:
        total, count = values[position], values[position + 1]
        merged[metric.name] = float(total / count) if float(count) > 0 else 0.0
        return position + 2
    for offset, name in enumerate(names):
        setattr(metric, name, values[position + offset].clone())
    return position + len(names)
