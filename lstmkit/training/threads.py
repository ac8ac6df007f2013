"""CPU threads for a training or prediction run.

torch parallelises each operation over all cores. For the small models of tutorials an operation is a
few microseconds of arithmetic, and waking the other threads costs more than it saves — and on a busy
machine waiting for a descheduled thread can multiply the run time. So while lstmkit runs a small
problem on the CPU it uses one thread, and restores the setting afterwards. ``LSTMKIT_NUM_THREADS``
fixes the number instead.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

__all__ = ["SMALL_WORK", "threads_for", "work_per_batch"]

# Multiply-adds per batch below which one thread is faster (measured on 2- and 16-core x86 machines:
# the tutorial example and the 50-unit window forecaster are far below, the 64-unit medium workload far above).
SMALL_WORK = 4_000_000
ENV_VAR = "LSTMKIT_NUM_THREADS"


@contextmanager
def threads_for(device: torch.device, work_per_batch: int | None):
    """Use one CPU thread (or ``LSTMKIT_NUM_THREADS``) while the block runs, when the work is small."""
    wanted = None
    if os.environ.get(ENV_VAR):
        wanted = int(os.environ[ENV_VAR])
    elif device.type == "cpu" and work_per_batch is not None and work_per_batch < SMALL_WORK:
        wanted = 1
    previous = torch.get_num_threads()
    if wanted is None or wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def work_per_batch(model, batch_size: int | None, sample_shape: tuple) -> int | None:
    """Rough multiply-adds of one batch: parameters x samples x timesteps."""
    if batch_size is None or not model.built:
        return None
    timesteps = sample_shape[0] if len(sample_shape) >= 2 and sample_shape[0] else 1
    return model.count_params() * batch_size * timesteps
