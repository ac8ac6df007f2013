"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from lstmkit.callbacks.base import _HOOKS, Callback
from lstmkit.callbacks.hooks import add_hooks
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["LambdaCallback"]

_LEGACY = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


def _caller(hook: str):
    def call(self, *args):
        for function in self._functions[hook]:
            function(*args)

    call.__name__ = hook
    return call


class LambdaCallback(Callback):
    """``LambdaCallback(on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
    on_train_batch_begin=None, on_train_batch_end=None)``; also Keras 2's ``on_batch_begin`` /
    ``on_batch_end`` and any other hook by its name (``on_test_end=...``, ``on_predict_batch_end=...``).

    Each function gets the hook's arguments: ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``,
    ``on_train_batch_end(batch, logs)``. Only the hooks given are installed, so e.g. an epoch-only
    LambdaCallback adds no per-batch work to training. Example::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        on_batch_begin=None,
        on_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        allowed = list(_HOOKS) + list(_LEGACY)
        reject_unknown_kwargs(
            "LambdaCallback", {k: v for k, v in kwargs.items() if k not in allowed}, allowed
        )
        given = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            "on_batch_begin": on_batch_begin,
            "on_batch_end": on_batch_end,
            **kwargs,
        }
        self._functions: dict[str, list] = {}
        for name, function in given.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback({name}=...) needs a function. Received: {function!r}")
            # Keras 2's batch names are the training-batch hooks; both may be given, both run.
            self._functions.setdefault(_LEGACY.get(name, name), []).append(function)
        add_hooks(self, {hook: _CALLERS[hook] for hook in self._functions})


_CALLERS = {hook: _caller(hook) for hook in _HOOKS}
