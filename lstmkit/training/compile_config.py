"""What ``compile`` records: the optimizer, the loss, the metrics, and the checks that tie them to data."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from lstmkit import losses, optimizers
from lstmkit import metrics as metrics_module
from lstmkit.layers.base import format_shape
from lstmkit.training.data import DataShapeError

__all__ = ["CompileConfig"]


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__)


class CompileConfig:
    """``compile(optimizer, loss, metrics, loss_weights)`` resolved into objects.

    ``metrics`` are resolved against the shapes of the first data (``resolve_metrics``), because
    'accuracy' means binary, categorical or sparse categorical accuracy depending on them.
    """

    def __init__(
        self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None
    ):
        self.optimizer = optimizers.get(optimizer)
        self.loss_identifier = loss
        self.loss = None if loss is None else losses.get(loss)
        self.loss_weight = self._loss_weight(loss_weights)
        # The mean over the last axis, then over the batch, equals one mean over everything: one fused
        # operation (and one backward node) instead of four.
        self._fused_loss = (
            {losses.mean_squared_error: F.mse_loss, losses.mean_absolute_error: F.l1_loss}.get(self.loss)
            if not isinstance(self.loss, losses.Loss)
            else None
        )
        self.metric_identifiers = self._metric_list(metrics)
        self.weighted_metric_identifiers = self._metric_list(weighted_metrics)
        for identifier in (
            self.metric_identifiers + self.weighted_metric_identifiers
        ):  # fail on unknown names now, not at fit time
            if not (isinstance(identifier, str) and identifier in metrics_module.PLACEHOLDERS):
                metrics_module.get(identifier)
        self.metrics: list | None = None
        self._warn_accuracy_on_regression()

    @staticmethod
    def _loss_weight(loss_weights) -> float:
        if loss_weights is None:
            return 1.0
        if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1:
            loss_weights = loss_weights[0]
        if isinstance(loss_weights, dict) and len(loss_weights) == 1:
            loss_weights = next(iter(loss_weights.values()))
        try:
            return float(loss_weights)
        except (TypeError, ValueError):
            raise ValueError(
                f"loss_weights for a single-output model must be one number. Received: {loss_weights!r}"
            ) from None

    @staticmethod
    def _metric_list(metrics) -> list:
        if metrics is None:
            return []
        if (
            isinstance(metrics, (str, metrics_module.Metric))
            or callable(metrics)
            and not isinstance(metrics, type)
        ):
            return [metrics]
        if isinstance(metrics, dict):
            values = list(metrics.values())
            if len(values) != 1:
                raise ValueError("metrics given as a dict must have one entry for a single-output model.")
            return CompileConfig._metric_list(values[0])
        if isinstance(metrics, (list, tuple)):
            return list(metrics)
        raise TypeError(f"metrics must be a list such as ['accuracy']. Received: {metrics!r}")

    def _warn_accuracy_on_regression(self) -> None:
        asks_accuracy = [m for m in self.metric_identifiers if m in ("accuracy", "acc")]
        if asks_accuracy and losses.base_function(self.loss) in losses.REGRESSION_LOSSES:
            warnings.warn(
                f"metrics=[{asks_accuracy[0]!r}] with loss={_loss_name(self.loss_identifier)!r}: accuracy counts "
                "exactly matching classes, which means nothing for a continuous (regression) target; with one "
                "output it becomes binary accuracy (outputs thresholded at 0.5). For regression use "
                "metrics=['mae'] or ['mse'].",
                UserWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ first data
    def resolve_metrics(self, y_shape: tuple, output_shape: tuple) -> list:
        """Metric objects for these label/output shapes (once per compile).

        Metrics from ``weighted_metrics`` are marked ``weighted`` and receive the sample weights; the others
        do not (as in Keras).
        """
        if self.metrics is None:

            def make(identifier, weighted):
                if isinstance(identifier, str) and identifier in metrics_module.PLACEHOLDERS:
                    metric = metrics_module.resolve_placeholder(
                        identifier, tuple(y_shape), tuple(output_shape)
                    )
                else:
                    metric = metrics_module.get(identifier)
                metric.weighted = weighted
                return metric

            self.metrics = [make(m, False) for m in self.metric_identifiers] + [
                make(m, True) for m in self.weighted_metric_identifiers
            ]
        return self.metrics

    def check_targets(self, y: torch.Tensor, output_shape: tuple, describe_output: str) -> None:
        """Refuse targets that cannot be compared with the model output; say how to fix it."""
        fn = losses.base_function(self.loss)
        name = _loss_name(self.loss_identifier)
        n = y.shape[0]
        if fn is losses.sparse_categorical_crossentropy:
            label_shape = tuple(y.shape[1:])
            if label_shape not in (tuple(output_shape[1:-1]), tuple(output_shape[1:-1]) + (1,)):
                raise DataShapeError(
                    f"{name} takes one integer class index per output position: y should have shape "
                    f"{format_shape((n,) + tuple(output_shape[1:-1]))}, but it has {format_shape(y.shape)}. "
                    "One-hot targets go with loss='categorical_crossentropy'."
                )
            classes = output_shape[-1]
            low, high = float(y.min()), float(y.max())
            if low < 0 or high >= classes or not bool(torch.all(y == torch.round(y))):
                raise ValueError(
                    f"{name} needs integer class indices in [0, {classes - 1}] (the output has {classes} units); "
                    f"y has values from {low:g} to {high:g}."
                )
            return
        if tuple(y.shape[1:]) != tuple(output_shape[1:]) and not _broadcastable(y.shape, output_shape):
            raise DataShapeError(self._mismatch_message(y, output_shape, describe_output, name))
        if fn is losses.binary_crossentropy:
            low, high = float(y.min()), float(y.max())
            if low < 0 or high > 1:
                raise ValueError(
                    f"binary_crossentropy needs targets in [0, 1] (class labels 0/1 or probabilities); y has values "
                    f"from {low:g} to {high:g}. Map the labels to 0/1 first."
                )

    def _mismatch_message(self, y, output_shape, describe_output, name) -> str:
        n = y.shape[0]
        message = (
            f"The model output has shape {format_shape(output_shape)} but y has shape {format_shape(y.shape)}; "
            f"the loss {name!r} compares them element by element. "
        )
        if len(output_shape) == y.dim() + 1 and len(output_shape) == 3:
            message += (
                f"The model returns a whole sequence per sample. {describe_output} Or give one target per "
                f"timestep, y of shape {format_shape((n,) + tuple(output_shape[1:]))}."
            )
        elif losses.base_function(self.loss) is losses.categorical_crossentropy and (
            y.dim() == 1 or y.shape[-1] == 1
        ):
            message += (
                f"y looks like class indices, but categorical_crossentropy wants one-hot rows of "
                f"width {output_shape[-1]}: use loss='sparse_categorical_crossentropy', or "
                f"y = lstmkit.utils.to_categorical(y, {output_shape[-1]})."
            )
        else:
            message += (
                f"Make them agree: the last layer has {output_shape[-1]} unit(s) and y has "
                f"{y.shape[-1] if y.dim() > 1 else 1} value(s) per sample."
            )
        return message

    # ------------------------------------------------------------------ per batch
    def loss_value(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """The scalar training loss (before regularization penalties).

        A mask on ``y_pred`` (``_keras_mask``, shape (batch, timesteps)) removes masked timesteps: the loss is
        the (weighted) mean over the unmasked ones, as in Keras.
        """
        mask = getattr(y_pred, "_keras_mask", None)
        if (
            mask is None
            and sample_weight is None
            and self._fused_loss is not None
            and y_true.shape == y_pred.shape
        ):
            value = self._fused_loss(y_pred, y_true)
            return value * self.loss_weight if self.loss_weight != 1.0 else value
        if mask is not None:
            sample_weight = masked_weights(
                mask,
                sample_weight,
                self.loss.reduction if isinstance(self.loss, losses.Loss) else "sum_over_batch_size",
            )
        if isinstance(self.loss, losses.Loss):
            value = self.loss(y_true, y_pred, sample_weight)
        else:
            value = losses.reduce_values(self.loss(y_true, y_pred), sample_weight)
        return value * self.loss_weight if self.loss_weight != 1.0 else value

    def get_config(self) -> dict:
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": losses.serialize(self.loss),
            "metrics": [metrics_module.serialize(m) for m in self.metric_identifiers],
            "weighted_metrics": [metrics_module.serialize(m) for m in self.weighted_metric_identifiers],
            "loss_weights": None if self.loss_weight == 1.0 else self.loss_weight,
        }


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
