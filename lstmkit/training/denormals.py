"""Denormal (subnormal) floats flushed to zero on the CPU while lstmkit computes, as TensorFlow does.

A float32 below ~1.2e-38 is *subnormal*; x86 CPUs handle arithmetic on such values in microcode, up to
100× slower per operation. Long sequences produce them in the backward pass: gradients that vanish
through hundreds of timesteps pass through the subnormal range on the way to zero, and one fused LSTM
backward over 1000 steps then runs several times slower (benchmarks/denormals.py measures it). With
flush-to-zero / denormals-are-zero set, such values become 0, which is what TensorFlow (and so Keras)
computes by default.

The setting lives in each CPU thread's control register. ``torch.set_flush_denormal`` changes only the
calling thread (threads started later inherit it), so ``flushed`` also restarts torch's OpenMP worker
threads when the run uses more than one: new workers copy the caller's setting. On exit the previous
setting comes back, in the caller and (by another restart) in the workers.
"""

from __future__ import annotations

import ctypes
import functools
import os
from contextlib import contextmanager

import torch

__all__ = ["flush_denormal_active", "flushed"]

_SUBNORMAL = 1e-39  # below float32's smallest normal number (1.18e-38)


def flush_denormal_active() -> bool:
    """Whether the calling thread flushes subnormal floats to zero now (probed with one tiny operation)."""
    probe = torch.full((1,), _SUBNORMAL, dtype=torch.float32)
    return bool((probe * 1.0).item() == 0.0)


@functools.cache
def _openmp_pause():
    """``omp_pause_resource_all`` of the OpenMP runtime torch ships (GNU libgomp), or None when absent."""
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp.so.1")
    if not os.path.exists(path):
        return None
    try:
        function = ctypes.CDLL(path).omp_pause_resource_all
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
    return function


def _restart_workers() -> None:
    """Release this thread's OpenMP worker threads; the next parallel operation starts new ones, which
    copy this thread's floating-point settings. Only this thread's pool is affected."""
    pause = _openmp_pause()
    if pause is not None:
        pause(2)  # omp_pause_hard: the threads end


@contextmanager
def flushed(device: torch.device):
    """Flush subnormal floats to zero while the block runs on the CPU; restore the previous setting."""
    if device.type != "cpu" or flush_denormal_active():
        yield
        return
    if not torch.set_flush_denormal(True):  # this CPU cannot (no SSE3): nothing to restore
        yield
        return
    many_threads = torch.get_num_threads() > 1
    if many_threads:
        _restart_workers()
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        if many_threads or torch.get_num_threads() > 1:
            _restart_workers()
