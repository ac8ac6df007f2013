"""Giving one callback instance extra hooks.

``CallbackList`` calls a batch hook only on callbacks whose *class* overrides it, so that training
does no per-batch work for callbacks that do not need it. A callback whose need depends on its
arguments (``ModelCheckpoint(save_freq=100)``, ``LambdaCallback(on_batch_end=...)``) gets, for that
instance only, a subclass of its own class that defines those hooks.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["add_hooks"]

_SUBCLASSES: dict[tuple, type] = {}


def add_hooks(callback, hooks: dict[str, Callable]) -> None:
    """Make ``hooks`` (hook name -> function(self, *args)) class-level methods of ``callback``.

    The instance's class becomes a subclass of its current class (the user's own subclass is kept),
    with the same name; one subclass is made per class and set of hook functions.
    """
    if not hooks:
        return
    cls = type(callback)
    key = (cls, tuple(sorted(hooks.items(), key=lambda item: item[0])))
    subclass = _SUBCLASSES.get(key)
    if subclass is None:
        namespace = {**hooks, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
        subclass = _SUBCLASSES[key] = type(cls.__name__, (cls,), namespace)
    callback.__class__ = subclass
