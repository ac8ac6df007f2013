"""What a layer call inherits from the call around it: the training phase, and whether shapes are being traced.

The phase belongs to the call, not to the module. ``fit`` runs its steps inside ``phase(True)``,
``evaluate``/``predict`` inside ``phase(False)``; a layer called with ``training=None`` (or without it)
takes the phase of the call around it, so the Keras idiom ``call(self, x, training=None):
return self.dropout(x, training=training)`` drops out in ``fit`` and not in ``predict``. An explicit
``training=True``/``False`` wins and is inherited by the layers inside. The state is per thread: a
``predict`` in another thread never changes the phase of a running ``fit`` (torch's ``module.training``
flag, which ``model.eval()`` would flip for every thread, is not consulted).
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["collecting_losses", "current_phase", "is_tracing", "phase", "record_loss", "tracing"]

_local = threading.local()


def current_phase() -> bool | None:
    """True inside a training call, False inside an inference call, None outside any call."""
    return getattr(_local, "training", None)


@contextlib.contextmanager
def _setting(name: str, value):
    """This thread's ``name`` is ``value`` while the block runs, then what it was."""
    previous = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, previous)


def phase(training: bool | None):
    """Calls made inside run in this training phase (True: training, False: inference)."""
    return _setting("training", training)


def is_tracing() -> bool:
    """True while a layer runs on a made-up example batch only to learn its output shape."""
    return bool(getattr(_local, "tracing", False))


def tracing():
    """Run a layer to learn shapes: stateful layers neither pin their batch size nor carry states."""
    return _setting("tracing", True)


def record_loss(loss) -> None:
    """Called by ``Layer.add_loss``: the loss joins the losses of the step being collected, if any."""
    collected = getattr(_local, "losses", None)
    if collected is not None:
        collected.append(loss)


@contextlib.contextmanager
def collecting_losses():
    """Collect the ``add_loss`` terms of the calls made inside (one training or evaluation step)."""
    previous = getattr(_local, "losses", None)
    collected: list = []
    _local.losses = collected
    try:
        yield collected
    finally:
        _local.losses = previous
