"""One ``fit`` per model at a time.

Two ``fit`` calls on the same model in two threads would interleave their updates of the same weights
and optimizer state, and neither result would be what either call asked for. ``predict``/``evaluate``
in other threads are fine (their phase belongs to the call: lstmkit/layers/call_context.py).
"""

from __future__ import annotations

import contextlib
import threading
import weakref

__all__ = ["exclusive_fit"]

_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_guard = threading.Lock()


@contextlib.contextmanager
def exclusive_fit(model):
    """Hold ``model``'s fit lock for the block; a RuntimeError if another ``fit`` holds it."""
    with _guard:
        lock = _locks.setdefault(model, threading.Lock())
    if not lock.acquire(blocking=False):
        raise RuntimeError(
            f"fit is already running on model '{model.name}' (in another thread, or in a callback of that "
            "fit). Two fits on one model at once would interleave their updates of the same weights. Wait "
            "for the first to finish (e.g. thread.join()), or train a second model built the same way. "
            "predict and evaluate may run in other threads while fit runs."
        )
    try:
        yield
    finally:
        lock.release()
