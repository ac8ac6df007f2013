"""CPU settings for one fit / evaluate / predict: intra-op threads from the work per operation and the
load of the machine, and denormals flushed (training/denormals.py).

torch splits each operation over all cores. Whether that pays depends on the size of one operation and on
whether the other cores are free. A recurrent layer runs one small matrix product per timestep (batch ×
units × gates·units multiply-adds); on a quiet machine splitting even those pays from about 1e5
multiply-adds (quiet 2-core machine: medium 0.95 → 0.65 s/epoch, text 19.3 → 6.5 s/epoch, long 1.24 →
0.90 s/epoch with 2 threads instead of 1). On a busy machine it is far worse than one thread: an operation
waits for its slowest thread, and a descheduled thread made a 2-thread step 8-20× slower than a 1-thread one
(shared/research/perf.md, finding T). So lstmkit measures how many cores other processes keep busy and uses
all cores only where they are free (or where one operation is big enough to repay the split anyway), and
restores the setting afterwards. ``LSTMKIT_NUM_THREADS`` fixes the number instead.
"""

from __future__ import annotations

import math
import os
import threading
import time
from contextlib import contextmanager

import torch

from lstmkit.layers.base import Layer
from lstmkit.training.denormals import flushed

__all__ = ["PARALLEL_WORK", "SMALL_WORK", "busy_cores_of_others", "cpu_run", "threads_for", "work_per_op"]

# Multiply-adds in one operation from which all cores are used even when other processes are busy. Below it
# an operation takes under ~0.5 ms on one core, and on a busy machine a 2-thread step ran 8-20x slower than a
# 1-thread one (stacked's 8.4e6 per operation: 2 s instead of 0.1 s per step).
# The workloads: seed 10, window 3e5, medium and medium-generic 2.4e6, text 3.4e6, stacked 8.4e6, long
# 9e4; LSTM(256) at batch 128 3.4e7 and LSTM(512) 1.3e8.
PARALLEL_WORK = 32_000_000
# Below this, one thread even on a quiet machine: the whole step is a few microseconds of arithmetic per
# operation (the tutorial example: 480), and waking a second thread costs more than it saves.
SMALL_WORK = 50_000
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


class _LoadMeter:
    """Cores kept busy by *other* processes: the machine's busy CPU time (/proc/stat) minus this process's
    own (/proc/self/stat), per elapsed time. Measured from the previous call when that was recent, otherwise
    over a fresh 50 ms window; a result younger than a second is reused, so a loop of train_on_batch calls
    reads nothing."""

    WINDOW = 0.05  # seconds: five clock ticks per core at the usual 100 Hz
    STALE = 5.0  # older samples describe another moment; take a fresh window instead
    REUSE = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._last = None  # (monotonic time, machine busy ticks, machine total ticks, own ticks)
        self._busy = None
        self._measured_at = -float("inf")

    @staticmethod
    def _sample():
        with open("/proc/stat") as f:
            # the machine's ticks: user nice system idle iowait irq softirq steal
            ticks = [int(v) for v in f.readline().split()[1:9]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()  # after the command name: state is field 3
        total = sum(ticks)
        return time.monotonic(), total - ticks[3] - ticks[4], total, int(own[11]) + int(own[12])

    def busy_cores(self) -> float | None:
        with self._lock:
            now = time.monotonic()
            if now - self._measured_at < self.REUSE:
                return self._busy
            try:
                if self._last is None or now - self._last[0] > self.STALE:
                    self._last = self._sample()
                    time.sleep(self.WINDOW)
                current = self._sample()
            except (OSError, ValueError, IndexError):
                return None  # no /proc (macOS, Windows): the caller stays careful
            _, busy0, total0, own0 = self._last
            _, busy1, total1, own1 = current
            cores = os.cpu_count() or 1
            elapsed_per_core = (total1 - total0) / cores
            if elapsed_per_core <= 0:
                return self._busy
            self._busy = max(0.0, (busy1 - busy0) - (own1 - own0)) / elapsed_per_core
            self._last, self._measured_at = current, now
            return self._busy


_meter = _LoadMeter()


def busy_cores_of_others() -> float | None:
    """How many cores other processes kept busy just now (None where the system does not say)."""
    return _meter.busy_cores()


def _threads_wanted(device: torch.device, work: int | None) -> int | None:
    """None: leave torch's setting (normally all cores); otherwise the number of threads to use."""
    if os.environ.get(ENV_VAR):
        return int(os.environ[ENV_VAR])
    if device.type != "cpu" or work is None or work >= PARALLEL_WORK:
        return None
    if work < SMALL_WORK or torch.get_num_threads() == 1:
        return 1
    busy = busy_cores_of_others()
    if busy is None:
        return 1  # load unknown: stay with what is safe on a busy machine
    # the cores other processes leave free, counting a core they keep less than half busy as free: an
    # operation split over a core that is taken waits for its descheduled thread
    free = (os.cpu_count() or 1) - math.ceil(busy - 0.5)
    threads = max(1, min(torch.get_num_threads(), free))
    return None if threads == torch.get_num_threads() else threads


@contextmanager
def threads_for(device: torch.device, work: int | None):
    """Use one CPU thread (or ``LSTMKIT_NUM_THREADS``) while the block runs, when operations are small or
    the other cores are busy."""
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
    """The settings of one fit/evaluate/predict: threads from ``work`` (``work_per_op``) and the machine's
    load, denormals flushed."""
    with threads_for(device, work), flushed(device):
        yield
