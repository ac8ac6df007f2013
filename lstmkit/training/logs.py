"""EpochLogs: the loss and metrics of one pass, accumulated on the device.

Names and order follow Keras 3: ``loss``; with several outputs ``<output>_loss`` and
``<output>_<metric>``; with one output ``<metric>``. As a mapping (what callbacks and History see) the keys
are sorted, as Keras 3 sorts its logs; ``evaluate`` returns its list in Keras's order (``ordered_values``).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy

import torch

from lstmkit.metrics import Mean, Precision, Recall
from lstmkit.training.outputs import masked_weights

__all__ = ["EpochLogs", "ordered_values", "returned_values"]


def _leaves(value, count: int) -> list:
    return list(value) if count > 1 else [value]


class EpochLogs(Mapping):
    """Running loss and metrics. A read-only mapping (``logs['loss']``): reading a value synchronises with
    the device, so per-batch callbacks get this object itself and only pay when they look.

    Metrics are resolved (``'accuracy'`` -> binary/categorical/sparse) from the first batch's shapes.
    """

    def __init__(self, compiled, prefix=""):
        self.compiled, self.prefix = compiled, prefix
        # This call's own metric objects, one list per output: copies of compile's (resolved on the first
        # batch), so that an evaluate in another thread never touches the state of a running fit.
        self._per_output: list | None = None
        self._metrics: list | None = None
        if compiled.metrics is not None:
            self._own_metrics()
        self.reset()

    def _own_metrics(self) -> None:
        self._per_output = [[_fresh(m) for m in spec.metrics] for spec in self.compiled.outputs]
        self._metrics = [m for group in self._per_output for m in group]

    @property
    def metrics(self) -> list | None:
        return self._metrics

    @property
    def outputs(self) -> list:
        return self.compiled.outputs or []

    def reset(self):
        self.loss_total, self.count = None, 0
        self.output_totals: list = [None] * len(self.outputs)
        self._merged: dict = {}  # results of metrics merged by weight (see synchronize)
        for m in self.metrics or []:
            m.reset_state()

    def update(self, loss, n, y, pred, weight=None, parts=None):
        """Add a batch of ``n`` samples: its total ``loss``; ``y``/``pred`` (lists with several outputs);
        ``parts``: the per-output losses of a several-output model."""
        weighted = loss.detach() * n
        self.loss_total = weighted if self.loss_total is None else self.loss_total + weighted
        self.count += n
        if self.metrics is None:
            self.resolve(y, pred)
        if parts is not None:
            self.output_totals += [None] * (len(parts) - len(self.output_totals))
            for i, part in enumerate(parts):
                if part is not None:
                    value = part.detach() * n
                    self.output_totals[i] = (
                        value if self.output_totals[i] is None else self.output_totals[i] + value
                    )
        count = len(self._per_output)
        for group, y_i, pred_i, index in zip(
            self._per_output, _leaves(y, count), _leaves(pred, count), range(count)
        ):
            if y_i is None:
                continue  # an output given no targets has no metrics
            mask = getattr(pred_i, "_keras_mask", None)
            output_weight = weight[index] if isinstance(weight, list) else weight
            for m in group:
                metric_weight = output_weight if getattr(m, "weighted", False) else None
                if mask is not None:  # metrics count unmasked timesteps only
                    metric_weight = masked_weights(mask, metric_weight, reduction="sum")
                m.update_state(y_i, pred_i, metric_weight)

    def resolve(self, y, pred) -> None:
        """Resolve the metrics from a batch's shapes without counting the batch (a padding batch)."""
        if self.metrics is None:
            count = len(self.outputs)
            self.compiled.resolve_metrics(
                [None if t is None else tuple(t.shape) for t in _leaves(y, count)],
                [(None,) + tuple(t.shape[1:]) for t in _leaves(pred, count)],
            )
            self._own_metrics()

    def synchronize(self, sum_, device) -> None:
        """Replace the totals of this process by those of all processes: ``sum_(tensor)`` sums a float64
        tensor on ``device`` over them in place (one collective: the loss, the count, every output's loss,
        every metric's state). Additive states (``Mean``'s total and count, Precision/Recall's counts) are
        summed exactly; any other metric contributes its result weighted by this process's sample count."""
        metrics = self.metrics or []
        parts = [
            self.loss_total if self.loss_total is not None else torch.zeros(()),
            torch.tensor(float(self.count)),
        ]
        self.output_totals += [None] * (len(self.outputs) - len(self.output_totals))
        parts += [t if t is not None else torch.zeros(()) for t in self.output_totals]
        for m in metrics:
            parts += _metric_state(m, self.count)
        values = sum_(torch.stack([p.to(device=device, dtype=torch.float64).reshape(()) for p in parts]))
        self.loss_total, self.count = values[0], int(values[1].item())
        position = 2
        for i, total in enumerate(self.output_totals):
            if total is not None:
                self.output_totals[i] = values[position]
            position += 1
        for m in metrics:
            position = _load_metric_state(m, values, position, self._merged)

    def _values(self) -> dict:
        """Name -> a function reading the value, in the order the values are made."""
        table = {
            "loss": lambda: (
                float(self.loss_total) / max(self.count, 1) if self.loss_total is not None else float("nan")
            )
        }
        if len(self.outputs) > 1:
            for spec, total in zip(self.outputs, self.output_totals):
                if spec.loss is not None:
                    table[spec.log_name] = lambda total=total: (
                        float(total) / max(self.count, 1) if total is not None else float("nan")
                    )
        for m in self.metrics or []:
            name = getattr(m, "log_name", m.name)
            table[name] = lambda m=m, name=name: (
                self._merged[name] if name in self._merged else float(m.result())
            )
        return table

    def _names(self) -> list[str]:
        return sorted(self._values())

    def __getitem__(self, key):
        if not key.startswith(self.prefix):
            raise KeyError(key)
        table = self._values()
        name = key[len(self.prefix) :]
        if name not in table:
            raise KeyError(key)
        return table[name]()

    def __iter__(self):
        return iter(self.prefix + name for name in self._names())

    def __len__(self):
        return len(self._names())

    def results(self) -> dict:
        """All values as floats, keys sorted as Keras 3 sorts its logs (one synchronisation)."""
        table = self._values()
        return {self.prefix + name: table[name]() for name in sorted(table)}


def _fresh(metric):
    """A copy of a resolved metric with its state reset (its name, log name and settings kept)."""
    copy = deepcopy(metric)
    copy.reset_state()
    return copy


def ordered_values(results: dict, compiled) -> list:
    """``evaluate``'s list in Keras's order: the loss; for several outputs each output's loss (output order)
    then the metrics sorted by name; for one output the metrics in compile order."""
    outputs = compiled.outputs or []
    if len(outputs) > 1:
        first = ["loss"] + [o.log_name for o in outputs if o.loss is not None]
    else:
        first = ["loss"] + [getattr(m, "log_name", m.name) for m in compiled.metrics or []]
    names = [n for n in first if n in results] + sorted(n for n in results if n not in first)
    return [results[n] for n in names]


def returned_values(results: dict, return_dict: bool, compiled):
    """What evaluate and the single-batch methods return: the dict, or one float, or the list in Keras's
    order (``ordered_values``)."""
    if return_dict:
        return results
    values = ordered_values(results, compiled)
    return values[0] if len(values) == 1 else values


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
        merged[getattr(metric, "log_name", metric.name)] = float(total / count) if float(count) > 0 else 0.0
        return position + 2
    for offset, name in enumerate(names):
        setattr(metric, name, values[position + offset].clone())
    return position + len(names)
