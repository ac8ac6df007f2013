"""One model output as training sees it: its name, its loss and weight, its metrics, and the checks that
tie it to its targets. ``compile`` makes one ``OutputSpec`` per output (lstmkit/training/compile_config.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit import losses
from lstmkit import metrics as metrics_module
from lstmkit.training.data import DataShapeError
from lstmkit.utils.shapes import format_shape

__all__ = ["OutputSpec", "loss_name", "masked_weights"]


def loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__)


def _fresh_metric(identifier, shared: bool):
    """A metric object for one output; a Metric object given for several outputs is copied for each."""
    if shared and isinstance(identifier, metrics_module.Metric):
        return type(identifier).from_config(identifier.get_config())
    return metrics_module.get(identifier)


class OutputSpec:
    """``name``; ``loss_identifier`` as the user wrote it (None: this output is not trained); ``weight``;
    metric identifiers (plain and weighted) resolved to objects on the first batch (``resolve_metrics``).
    ``prefix`` is put before metric names in the logs (``"<name>_"`` when the model has several outputs)."""

    def __init__(self, name, loss, weight=1.0, metrics=(), weighted_metrics=(), prefix="", shared=False):
        self.name, self.prefix, self.shared = name, prefix, shared
        self.loss_identifier = loss
        self.loss = None if loss is None else losses.get(loss)
        self.weight = float(weight)
        # The mean over the last axis, then over the batch, equals one mean over everything: one fused
        # operation (and one backward node) instead of four.
        self.fused = (
            {losses.mean_squared_error: F.mse_loss, losses.mean_absolute_error: F.l1_loss}.get(self.loss)
            if self.loss is not None and not isinstance(self.loss, losses.Loss)
            else None
        )
        self.metric_identifiers = list(metrics)
        self.weighted_metric_identifiers = list(weighted_metrics)  # checked by CompileConfig already
        self.metrics: list | None = None

    @property
    def log_name(self) -> str:
        return f"{self.prefix}loss"

    # ------------------------------------------------------------------ first data
    def resolve_metrics(self, y_shape: tuple, output_shape: tuple) -> list:
        """Metric objects for these label/output shapes (once per compile); ``weighted_metrics`` receive the
        sample weights, the others do not (as in Keras). Each metric's ``log_name`` carries the prefix."""
        if self.metrics is None and y_shape is None:
            self.metrics = []  # no targets for this output: nothing to measure
        if self.metrics is None:

            def make(identifier, weighted):
                if isinstance(identifier, str) and identifier in metrics_module.PLACEHOLDERS:
                    metric = metrics_module.resolve_placeholder(
                        identifier, tuple(y_shape), tuple(output_shape)
                    )
                else:
                    metric = _fresh_metric(identifier, self.shared)
                metric.weighted = weighted
                return metric

            made = [make(m, False) for m in self.metric_identifiers] + [
                make(m, True) for m in self.weighted_metric_identifiers
            ]
            seen: dict = {}
            for metric in made:
                base = f"{self.prefix}{metric.name}"
                count = seen.get(base, 0)
                seen[base] = count + 1
                metric.log_name = base if count == 0 else f"{base}_{count}"
            self.metrics = made
        return self.metrics

    def check_targets(
        self, y: torch.Tensor, output_shape: tuple, describe_output: str, where: str = ""
    ) -> None:
        """Refuse targets that cannot be compared with this output; say how to fix it."""
        if self.loss is None:
            return
        fn = losses.base_function(self.loss)
        name = loss_name(self.loss_identifier)
        target = f"y{where}"
        n = y.shape[0]
        if fn is losses.sparse_categorical_crossentropy:
            label_shape = tuple(y.shape[1:])
            if label_shape not in (tuple(output_shape[1:-1]), tuple(output_shape[1:-1]) + (1,)):
                raise DataShapeError(
                    f"{name} takes one integer class index per output position: {target} should have shape "
                    f"{format_shape((n,) + tuple(output_shape[1:-1]))}, but it has {format_shape(y.shape)}. "
                    "One-hot targets go with loss='categorical_crossentropy'."
                )
            classes = output_shape[-1]
            low, high = float(y.min()), float(y.max())
            if low < 0 or high >= classes:
                raise ValueError(
                    f"{name} needs integer class indices in [0, {classes - 1}] (the output has {classes} units); "
                    f"{target} has values from {low:g} to {high:g}."
                )
            if not bool(torch.all(y == torch.round(y))):
                raise ValueError(
                    f"{name} needs integer class indices, but {target} has fractional values (e.g. "
                    f"{float(y[y != torch.round(y)][0]):g}). For probabilities or one-hot rows use "
                    "loss='categorical_crossentropy'."
                )
            return
        if tuple(y.shape[1:]) != tuple(output_shape[1:]) and not _broadcastable(y.shape, output_shape):
            raise DataShapeError(self._mismatch_message(y, output_shape, describe_output, name, target))
        if fn is losses.binary_crossentropy:
            low, high = float(y.min()), float(y.max())
            if low < 0 or high > 1:
                raise ValueError(
                    f"binary_crossentropy needs targets in [0, 1] (class labels 0/1 or probabilities); {target} has "
                    f"values from {low:g} to {high:g}. Map the labels to 0/1 first."
                )

    def _mismatch_message(self, y, output_shape, describe_output, name, target) -> str:
        n = y.shape[0]
        which = f"The model output '{self.name}'" if self.prefix else "The model output"
        message = (
            f"{which} has shape {format_shape(output_shape)} but {target} has shape {format_shape(y.shape)}; "
            f"the loss {name!r} compares them element by element. "
        )
        if len(output_shape) == y.dim() + 1 and len(output_shape) == 3:
            message += (
                f"The model returns a whole sequence per sample. {describe_output} Or give one target per "
                f"timestep, {target} of shape {format_shape((n,) + tuple(output_shape[1:]))}."
            )
        elif losses.base_function(self.loss) is losses.categorical_crossentropy and (
            y.dim() == 1 or y.shape[-1] == 1
        ):
            message += (
                f"{target} looks like class indices, but categorical_crossentropy wants one-hot rows of "
                f"width {output_shape[-1]}: use loss='sparse_categorical_crossentropy', or "
                f"{target} = lstmkit.utils.to_categorical({target}, {output_shape[-1]})."
            )
        else:
            message += (
                f"Make them agree: the output layer has {output_shape[-1]} unit(s) and {target} has "
                f"{y.shape[-1] if y.dim() > 1 else 1} value(s) per sample."
            )
        return message

    # ------------------------------------------------------------------ per batch
    def loss_value(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """This output's loss (unweighted by ``weight``). A mask on ``y_pred`` (``_keras_mask``, shape
        (batch, timesteps)) removes masked timesteps: the (weighted) mean over the unmasked ones, as in Keras."""
        mask = getattr(y_pred, "_keras_mask", None)
        if mask is None and sample_weight is None and self.fused is not None and y_true.shape == y_pred.shape:
            return self.fused(y_pred, y_true)
        if mask is not None:
            sample_weight = masked_weights(
                mask,
                sample_weight,
                self.loss.reduction if isinstance(self.loss, losses.Loss) else "sum_over_batch_size",
            )
        if isinstance(self.loss, losses.Loss):
            return self.loss(y_true, y_pred, sample_weight)
        return losses.reduce_values(self.loss(y_true, y_pred), sample_weight)


def masked_weights(mask: torch.Tensor, sample_weight, reduction: str = "sum_over_batch_size") -> torch.Tensor:
    """Sample weights that drop masked timesteps. For mean reductions the kept ones are scaled by
    total/kept, so that the mean over all entries equals the mean over the unmasked ones (Keras's rule)."""
    weights = mask.to(torch.float32)
    if reduction in ("sum_over_batch_size", "auto", "mean"):
        weights = weights * (weights.numel() / (weights.sum() + 1e-7))
    if sample_weight is not None:
        sample_weight = sample_weight.to(weights.dtype)
        while sample_weight.dim() < weights.dim():
            sample_weight = sample_weight.unsqueeze(-1)
        weights = weights * sample_weight
    return weights


def _broadcastable(y_shape, output_shape) -> bool:
    """Shapes that differ only where the output has None (an unknown size)."""
    if len(y_shape) != len(output_shape):
        return False
    return all(o is None or o == y for y, o in zip(tuple(y_shape)[1:], tuple(output_shape)[1:]))
