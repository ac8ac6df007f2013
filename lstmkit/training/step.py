"""One training step: forward pass, loss, backward pass, optimizer update (``TrainStep``), and the loss of
one batch that fit, evaluate and the single-batch methods share (``forward_and_loss``).

x is a tensor (one input) or a list of tensors in input order; y and the sample weights likewise per
output (training/structures.py). ``compile(jit_compile=...)`` may replace the step by a compiled one with
the same interface (training/compiled.py).
"""

from __future__ import annotations

from lstmkit.distributed.sync import GradientSync, broadcast_model
from lstmkit.layers.call_context import collecting_losses
from lstmkit.training.backward import backward
from lstmkit.utils import tree

__all__ = ["TrainStep", "forward_and_loss", "with_penalties"]


class TrainStep:
    """forward, loss, backward, optimizer update: one batch. Returns (loss, detached predictions).

    With a distributed ``run``: the first call gives every process rank 0's weights (the model is built
    by then, also from a Sequence), the loss is multiplied by ``scale`` (this process's share of the step)
    before backward, and the gradients are summed over the processes before the update."""

    def __init__(self, model, compiled, run=None):
        self.model, self.compiled, self.optimizer = model, compiled, compiled.optimizer
        self.run, self.params, self.sync = run, None, None
        self.loss_scale = getattr(self.optimizer, "scale_loss", None)
        self.broadcast_pending = run is not None
        if model.built:  # else the first batch builds it (a Sequence or generator), and the step binds then
            self._bind()

    def _bind(self):
        self.params = self.model.trainable_parameters()
        if not self.params:
            raise ValueError("The model has no trainable weights (every layer is frozen); nothing to fit.")
        if self.run is not None:
            self.sync = GradientSync(self.run, self.optimizer, self.params)

    def __call__(self, x, y, weight, scale=1.0):
        if self.params is None:
            self._bind()
        if self.broadcast_pending:
            broadcast_model(self.run, self.model, self.optimizer)
            self.broadcast_pending = False
        self.optimizer.zero_grad(self.params)
        total, parts, pred = forward_and_loss(self.model, self.compiled, x, y, weight, training=True)
        # float16 loss scaling (mixed_precision.LossScaleOptimizer); the logs get the unscaled loss
        scaled = total if self.loss_scale is None else self.loss_scale(total)
        if self.sync is None:
            backward(scaled)
        else:
            (scaled * scale).backward()
            self.sync()
        self.optimizer.apply(self.params)
        self.model.apply_constraints()
        return total, parts, _detached(pred)


def forward_and_loss(model, compiled, x, y, weight, training: bool, forward=None):
    """(loss, per-output losses or None, predictions) of one batch. The loss is the weighted sum of the
    outputs' losses, plus the weights' regularization penalties and the layers' ``add_loss`` terms.
    Predictions are a tensor (one output) or a list in output order. ``forward``: the model's forward
    pass to use (a compiled one for evaluation), by default the model itself."""
    if y is None:
        raise _without_targets(training)
    with collecting_losses() as added:
        pred = (forward or model)(x, training=training)
    if compiled.multi:
        pred = tree.flatten(pred)
        loss, parts = compiled.losses(y, pred, weight)
    else:
        loss, parts = compiled.loss_value(y, pred, weight), None
    return with_penalties(model, loss, added), parts, pred


def with_penalties(model, loss, added):
    """``loss`` plus the weights' regularization penalties and the ``add_loss`` terms ``added`` (the
    layers' terms collected during the forward pass); a scalar tensor."""
    penalty = model.regularization_loss()
    if penalty is not None:
        loss = loss + penalty
    for term in added:
        loss = loss + term.to(loss.dtype)
    return loss


def _without_targets(training: bool) -> ValueError:
    what, action = (
        ("The training data", "fit") if training else ("The evaluation or validation data", "evaluate")
    )
    return ValueError(
        f"{what} gave a batch with x only, but {action} needs targets: make the generator or Sequence yield "
        "(x, y) or (x, y, sample_weight) tuples. Batches of x alone are for predict."
    )


def _detached(pred):
    """Predictions without their graph, keeping masks (the logs' metrics skip masked steps)."""
    if isinstance(pred, list):
        return [_detached(p) for p in pred]
    detached = pred.detach()
    mask = getattr(pred, "_keras_mask", None)
    if mask is not None:
        detached._keras_mask = mask
    return detached
