"""What the processes keep equal: the weights at the start of a call, the gradients of every step, the
non-trainable statistics of every epoch; and the pieces of a prediction.

Gradients are summed by lstmkit with ``all_reduce``, not by ``DistributedDataParallel``, because:

- On the CPU the optimizer already keeps all gradients of a dtype in one flat buffer (parameters and
  their ``.grad`` are views of flat buffers; optimizers/plan.py), so a step costs one ``all_reduce`` of
  one contiguous tensor and no copy. DDP would copy the gradients into its own buckets and back, or,
  with ``gradient_as_bucket_view=True``, make ``.grad`` views of its buckets, which would fight the
  optimizer's views (``zero_grad`` points ``.grad`` back at the optimizer's buffer every step).
- lstmkit's loops call the model itself (shape checks, masks, ``_keras_mask`` on outputs, stateful
  flags, saving and callbacks see the bare model); a DDP wrapper would sit in the way of all of that.
- What DDP adds, overlapping communication with the backward pass bucket by bucket, gains little for
  these models: a fused LSTM's backward produces its weight gradients at its end, and the models are
  small. (For large GPU models that trade-off changes; see docs/distributed.md.)

On GPUs (where the optimizer keeps parameters separate) the gradients of each dtype are concatenated
into one buffer, summed, and copied back: one collective per step and two device copies.

Each process multiplies its loss by its share of the step before backward (sharding.py), so the sum of
the gradients, not their mean, is the gradient of the step's mean loss.
"""

from __future__ import annotations

import torch

__all__ = ["GradientSync", "average_buffers", "broadcast_model", "gather_rows"]


def _coalesced(run, tensors, average: bool) -> None:
    """Broadcast rank 0's ``tensors`` (or average them over the processes), one collective per dtype."""
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    with torch.no_grad():
        for group in groups.values():
            flat = torch.cat([t.detach().reshape(-1) for t in group])
            if average:
                run.sum_(flat).div_(run.world_size)
            else:
                run.broadcast_(flat)
            for t, piece in zip(group, flat.split([t.numel() for t in group])):
                t.copy_(piece.view_as(t))


def broadcast_model(run, model, optimizer=None) -> None:
    """Give every process rank 0's weights, buffers and (with ``optimizer``) optimizer slots, so that all
    start alike however each was seeded or loaded. Slots not made yet are made first (their initial
    values), so every process sends the same list. Works inside evaluate/predict's inference mode too (the
    weights are written in place, which inference mode forbids)."""
    tensors = list(model.parameters()) + list(model.buffers())
    if optimizer is not None:
        tensors += optimizer.variables_for(model.trainable_parameters())
    with torch.inference_mode(False):
        _coalesced(run, tensors, average=False)


def average_buffers(run, model) -> None:
    """Average floating-point buffers (BatchNormalization's moving statistics) over the processes.

    Each process updates them from its own batches; moving averages are linear, so the mean of the
    processes' moving averages is the moving average of their batch statistics' means. Once per epoch,
    so that validation, checkpoints and the final model see one set of statistics on every process."""
    buffers = [b for b in model.buffers() if b.is_floating_point()]
    if buffers:
        _coalesced(run, buffers, average=True)


class GradientSync:
    """After ``backward``: replace every process's gradients by their sum over the processes."""

    def __init__(self, run, optimizer, params):
        self.run, self.optimizer, self.params = run, optimizer, params

    def __call__(self) -> None:
        # The plan is looked up every step (a dict lookup): restoring optimizer state replaces it, and a
        # stale flat buffer would be summed while the optimizer reads a new one.
        for grads in self.optimizer.gradients(self.params):
            if len(grads) == 1:  # the CPU's flat gradient buffer (or a single parameter): in place
                self.run.sum_(grads[0])
                continue
            if not grads:
                continue
            flat = self.run.sum_(torch.cat([g.reshape(-1) for g in grads]))
            torch._foreach_copy_(
                grads, [piece.view_as(g) for g, piece in zip(grads, flat.split([g.numel() for g in grads]))]
            )


def gather_rows(run, rows: torch.Tensor) -> torch.Tensor:
    """Every process's ``rows`` (same trailing shape, any number), concatenated in rank order, on every
    process. Two collectives: the counts, then the rows padded to the largest count."""
    counts = run.all_gather(torch.tensor([rows.shape[0]], dtype=torch.int64, device=rows.device))
    counts = [int(c) for c in counts]
    padded = rows.new_zeros((max(counts),) + tuple(rows.shape[1:]))
    padded[: rows.shape[0]] = rows
    return torch.cat([piece[:count] for piece, count in zip(run.all_gather(padded), counts)])
