"""CPU settings for one fit / evaluate / predict: intra-op threads from the work per operation, and
denormals flushed (training/denormals.py).

torch splits each operation over all cores. Whether that pays depends on the size of one operation,
not of the whole batch: a recurrent layer runs one small matrix product per timestep (batch × units ×
gates·units multiply-adds), and waking the other threads for each costs more than it saves. On a busy
machine it is far worse: an operation waits for its slowest thread, and a descheduled thread makes a
2-thread step up to 8× slower than a 1-thread one (shared/research/perf.md, finding T). So lstmkit uses
one thread unless the largest operation of a step is big enough to repay the split, and restores the
setting afterwards. ``LSTMKIT_NUM_THREADS`` fixes the number instead.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from lstmkit.layers.base import Layer
from lstmkit.training.denormals import flushed

__all__ = ["PARALLEL_WORK", "cpu_run", "threads_for", "work_per_op"]

# Multiply-adds in one operation from which all cores are used. Below it an operation takes under ~0.5 ms
# on one core: splitting it saves a fraction of that on a quiet machine, while on a busy one a 2-thread step
# ran 8-20x slower than a 1-thread one (stacked's 8.4e6 per operation: 2 s instead of 0.1 s per step).
# The workloads: seed 10, window 3e5, medium and medium-generic 2.4e6, text 3.4e6, stacked 8.4e6, long
# 9e4 (1 thread); LSTM(256) at batch 128 3.4e7 and LSTM(512) 1.3e8 (all cores).
PARALLEL_WORK = 32_000_000
DEFAULT_BATCH = 32  # Keras's default, assumed when a Sequence or generator hides the batch size
ENV_VAR = "LSTMKIT_NUM_THREADS"


def work_per_op(model, batch_size: int | None) -> int | None:
    """Multiply-adds of the model's largest single operation on a batch (None: model not built yet).

    A layer's operation on one batch is about batch × its weights: one timestep of a recurrent layer (input
    and recurrent products of every gate), one Dense/Conv application per sample. Layers that look up
    rows instead of multiplying (Embedding) do not count."""
    if not model.built:
        return None
    batch = batch_size or DEFAULT_BATCH
    largest = 0
    for layer in [model, *model.sublayers()]:
        if getattr(layer, "input_dtype", "float") == "int" or not layer.built:
            continue
        largest = max(largest, _own_weights(layer))
    return largest * batch


def _own_weights(module) -> int:
    """Weights of ``module`` and of the plain torch modules inside it; inner Layers count on their own."""
    total = sum(p.numel() for p in module.parameters(recurse=False))
    return total + sum(_own_weights(c) for c in module.children() if not isinstance(c, Layer))


def _threads_wanted(device: torch.device, work: int | None) -> int | None:
    if os.environ.get(ENV_VAR):
        return int(os.environ[ENV_VAR])
    if device.type != "cpu" or work is None:
        return None
    return 1 if work < PARALLEL_WORK else None


@contextmanager
def threads_for(device: torch.device, work: int | None):
    """Use one CPU thread (or ``LSTMKIT_NUM_THREADS``) while the block runs, when operations are small."""
    wanted = _threads_wanted(device, work)
    previous = torch.get_num_threads()
    if wanted is None or wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def cpu_run(device: torch.device, work: int | None):
    """The settings of one fit/evaluate/predict: threads from ``work`` (``work_per_op``), denormals flushed."""
    with threads_for(device, work), flushed(device):
        yield
