"""What ``compile`` records: the optimizer, and per model output its loss, loss weight and metrics.

One loss applies to every output; a list gives one per output (in ``model.outputs`` order) and a dict
one per output name (an output without a loss is not trained). ``metrics`` likewise: a list of metrics
for a one-output model; for several outputs a dict by output name, a list with one entry (a metric or a
list of metrics) per output, or — Keras 2's form — a flat list applied to every output. The outputs are
known once the model is (``bind``): at compile for graph models, at the first data otherwise.

Logs follow Keras 3: ``loss`` (the weighted sum plus penalties); with several outputs also
``<output>_loss`` (unweighted) and ``<output>_<metric>``; with one output ``<metric>``.
"""

from __future__ import annotations

import warnings

import torch

from lstmkit import losses, optimizers
from lstmkit import metrics as metrics_module
from lstmkit.training.outputs import OutputSpec, loss_name, masked_weights

__all__ = ["CompileConfig", "masked_weights"]


def _is_metric_list(value) -> bool:
    return isinstance(value, (list, tuple))


class CompileConfig:
    """``compile(optimizer, loss, metrics, loss_weights, weighted_metrics)`` resolved into objects."""

    def __init__(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        output_names=None,
    ):
        self.optimizer = optimizers.get(optimizer)
        self.loss_identifier = loss
        self.metrics_identifier = metrics
        self.weighted_metrics_identifier = weighted_metrics
        self.loss_weights_identifier = loss_weights
        self.loss = self._resolve_losses(loss)
        for identifier in self._all_metric_identifiers():  # unknown names fail now, not at fit time
            if not (isinstance(identifier, str) and identifier in metrics_module.PLACEHOLDERS):
                metrics_module.get(identifier)
        self.outputs: list[OutputSpec] | None = None
        self._warn_accuracy_on_regression()
        if output_names is not None:  # graph models: known now; other models: at the first data
            self.bind(list(output_names))

    # ------------------------------------------------------------------ identifiers
    @staticmethod
    def _resolve_losses(loss):
        if loss is None:
            return None
        if isinstance(loss, dict):
            return {k: None if v is None else losses.get(v) for k, v in loss.items()}
        if isinstance(loss, (list, tuple)):
            return [None if v is None else losses.get(v) for v in loss]
        return losses.get(loss)

    def _all_metric_identifiers(self) -> list:
        found = []
        for value in (self.metrics_identifier, self.weighted_metrics_identifier):
            stack = [value]
            while stack:
                item = stack.pop()
                if item is None:
                    continue
                if isinstance(item, dict):
                    stack.extend(item.values())
                elif isinstance(item, (list, tuple)):
                    stack.extend(item)
                else:
                    found.append(item)
        return found

    def _warn_accuracy_on_regression(self) -> None:
        single = self.loss if not isinstance(self.loss, (list, dict)) else None
        asks_accuracy = [m for m in self._all_metric_identifiers() if m in ("accuracy", "acc")]
        if single is not None and asks_accuracy and losses.base_function(single) in losses.REGRESSION_LOSSES:
            warnings.warn(
                f"metrics=[{asks_accuracy[0]!r}] with loss={loss_name(self.loss_identifier)!r}: accuracy counts "
                "exactly matching classes, which means nothing for a continuous (regression) target; with one "
                "output it becomes binary accuracy (outputs thresholded at 0.5). For regression use "
                "metrics=['mae'] or ['mse'].",
                UserWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ binding to the model's outputs
    @property
    def bound(self) -> bool:
        return self.outputs is not None

    @property
    def multi(self) -> bool:
        return self.outputs is not None and len(self.outputs) > 1

    def bind(self, names: list[str]) -> list[OutputSpec]:
        """One OutputSpec per output name (once; later calls return the same specs)."""
        if self.outputs is not None:
            if [o.name for o in self.outputs] != list(names):
                raise ValueError(
                    f"The model was compiled for outputs {[o.name for o in self.outputs]} but now has outputs "
                    f"{list(names)}. Compile it again."
                )
            return self.outputs
        count = len(names)
        prefix = (lambda name: f"{name}_") if count > 1 else (lambda name: "")
        loss = self._per_output("loss", self.loss_identifier, names, single_for_all=True)
        weights = self._per_output("loss_weights", self.loss_weights_identifier, names, single_for_all=True)
        metrics = self._metrics_per_output("metrics", self.metrics_identifier, names)
        weighted = self._metrics_per_output("weighted_metrics", self.weighted_metrics_identifier, names)
        shared = count > 1 and not isinstance(self.metrics_identifier, dict)
        self.outputs = [
            OutputSpec(
                name,
                loss[i],
                1.0 if weights[i] is None else _number(weights[i], "loss_weights"),
                metrics[i],
                weighted[i],
                prefix(name),
                shared,
            )
            for i, name in enumerate(names)
        ]
        if all(o.loss is None for o in self.outputs) and self.loss_identifier is not None:
            raise ValueError(f"loss={self.loss_identifier!r} names none of the model's outputs {names}.")
        return self.outputs

    @staticmethod
    def _per_output(what, value, names, single_for_all):
        count = len(names)
        if isinstance(value, dict):
            if count == 1 and len(value) == 1 and names[0] not in value:
                return list(value.values())  # a one-output model: the key is not needed
            unknown = [k for k in value if k not in names]
            if unknown:
                raise ValueError(
                    f"{what} has keys {unknown} that are not output names; the model's outputs are {names}."
                )
            return [value.get(name) for name in names]
        if isinstance(value, (list, tuple)):
            if len(value) == 1 and count == 1:
                return list(value)
            if len(value) != count:
                raise ValueError(
                    f"{what} is a list of {len(value)} entries, but the model has {count} output(s) {names}: give one "
                    "per output, in order, or a dict by output name."
                )
            return list(value)
        return [value] * count

    @staticmethod
    def _metrics_per_output(what, value, names) -> list[list]:
        count = len(names)
        if value is None:
            return [[] for _ in names]
        if isinstance(value, dict):
            if count == 1 and not set(value) & set(names):
                values = list(value.values())
                if len(values) != 1:
                    raise ValueError(f"{what} given as a dict must have one entry for a single-output model.")
                value = {names[0]: values[0]}
            unknown = [k for k in value if k not in names]
            if unknown:
                raise ValueError(
                    f"{what} has keys {unknown} that are not output names; the outputs are {names}."
                )
            return [_as_list(value.get(name)) for name in names]
        if isinstance(value, (str, metrics_module.Metric)) or (
            callable(value) and not isinstance(value, type)
        ):
            return [[value] for _ in names]
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{what} must be a list such as ['accuracy'] (or a dict by output). Received: {value!r}"
            )
        if count == 1:
            if len(value) == 1 and _is_metric_list(value[0]):
                return [list(value[0])]
            return [list(value)]
        if len(value) == count and any(_is_metric_list(v) for v in value):
            return [_as_list(v) for v in value]  # Keras: one entry (a metric or a list) per output
        if len(value) == count and len(value) > 1:
            return [_as_list(v) for v in value]  # Keras 3 reads a list as long as the outputs per output
        return [list(value) for _ in names]  # Keras 2: every metric for every output

    # ------------------------------------------------------------------ single-output view (tutorial models)
    @property
    def loss_weight(self) -> float:
        return self.outputs[0].weight if self.outputs and len(self.outputs) == 1 else 1.0

    @property
    def metric_identifiers(self) -> list:
        return self.metrics_identifier if isinstance(self.metrics_identifier, list) else []

    @property
    def weighted_metric_identifiers(self) -> list:
        return self.weighted_metrics_identifier if isinstance(self.weighted_metrics_identifier, list) else []

    @property
    def metrics(self) -> list | None:
        """Every output's resolved metric objects (None until the first batch resolved them)."""
        if self.outputs is None or any(o.metrics is None for o in self.outputs):
            return None
        return [m for o in self.outputs for m in o.metrics]

    def resolve_metrics(self, y_shapes, output_shapes) -> list:
        """Resolve every output's metrics from the first batch's label/output shapes (lists, one per output)."""
        if self.outputs is None:
            self.bind(["output"] if len(y_shapes) == 1 else [f"output_{i + 1}" for i in range(len(y_shapes))])
        for spec, y_shape, output_shape in zip(self.outputs, y_shapes, output_shapes):
            spec.resolve_metrics(y_shape, output_shape)
        return self.metrics

    # ------------------------------------------------------------------ per batch
    def loss_value(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """The scalar training loss of a one-output model (before regularization penalties)."""
        if self.outputs is None:
            self.bind(["output"])
        spec = self.outputs[0]
        value = spec.loss_value(y_true, y_pred, sample_weight)
        return value * spec.weight if spec.weight != 1.0 else value

    def losses(self, ys: list, preds: list, weights) -> tuple[torch.Tensor, list]:
        """(weighted total, per-output losses or None for outputs without a loss) over several outputs.
        ``weights``: one array for every output, a list per output, or None."""
        total, parts = None, []
        for i, (spec, y, pred) in enumerate(zip(self.outputs, ys, preds)):
            if spec.loss is None:
                parts.append(None)
                continue
            weight = weights[i] if isinstance(weights, list) else weights
            value = spec.loss_value(y, pred, weight)
            parts.append(value)
            weighted = value * spec.weight if spec.weight != 1.0 else value
            total = weighted if total is None else total + weighted
        return total, parts

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict:
        """The compile arguments as JSON-ready data (functions and Metric objects by name/config)."""
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": _serialize_structure(self.loss_identifier, losses.serialize, losses.get),
            "metrics": _serialize_metrics(self.metrics_identifier),
            "weighted_metrics": _serialize_metrics(self.weighted_metrics_identifier),
            "loss_weights": self.loss_weights_identifier,
        }


def _number(value, what) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers (one per output). Received: {value!r}") from None


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if _is_metric_list(value) else [value]


def _serialize_structure(value, serialize, get):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_structure(v, serialize, get) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_structure(v, serialize, get) for v in value]
    return serialize(get(value))


def _serialize_metrics(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_metrics(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_metrics(v) for v in value]
    if isinstance(value, type):
        return value.__name__
    return metrics_module.serialize(value)
