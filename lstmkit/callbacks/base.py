"""Callback (Keras's hooks) and CallbackList (calls them in order).

Batch hooks are only called for callbacks that override them: a loop with no per-batch callback does
no per-batch work for them, and per-batch ``logs`` are lazy (a value is computed, which synchronises
with the device, only when a callback reads it).
"""

from __future__ import annotations

from lstmkit.utils.checks import check_int

__all__ = ["Callback", "CallbackList", "as_callback_list", "check_frequency"]

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class. ``self.model`` is the model being trained; ``self.params`` holds
    ``{'verbose', 'epochs', 'steps'}``. Set ``self.model.stop_training = True`` to stop ``fit``."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # Keras 2 names of the train-batch hooks.
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    # What BackupAndRestore keeps of this callback, so that a resumed fit continues it exactly.
    def backup_state(self):
        """This callback's own training state: JSON-able values and torch tensors (None: nothing)."""
        return

    def restore_state(self, state) -> None:
        """Put back what ``backup_state`` returned (called after ``on_train_begin`` of a resumed fit)."""


def _overrides(callback: Callback, hook: str) -> bool:
    own = getattr(type(callback), hook, None)
    if own is not getattr(Callback, hook):
        return True
    if hook in ("on_train_batch_begin", "on_train_batch_end"):  # reached through the Keras 2 names
        legacy = hook.replace("train_batch", "batch")
        return getattr(type(callback), legacy) is not getattr(Callback, legacy)
    return False


class CallbackList:
    """Calls each hook on every callback that implements it, in order."""

    def __init__(self, callbacks, model=None, params=None):
        # Callbacks marked ``runs_last`` (BackupAndRestore) see the others' state after each hook.
        self.callbacks = sorted(callbacks, key=lambda cb: bool(getattr(cb, "runs_last", False)))
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be lstmkit.callbacks.Callback instances. Received: {cb!r} "
                    f"(type {type(cb).__name__})."
                )
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)
            if hasattr(cb, "callback_list"):
                cb.callback_list = self
        self._implementers = {hook: [cb for cb in self.callbacks if _overrides(cb, hook)] for hook in _HOOKS}

    def wants(self, hook: str) -> bool:
        """Whether any callback implements ``hook`` (lets loops skip per-batch work)."""
        return bool(self._implementers[hook])

    def call(self, hook: str, *args) -> None:
        for cb in self._implementers[hook]:
            getattr(cb, hook)(*args)


def _nested(item) -> bool:
    return isinstance(item, (list, tuple, Callback))


def as_callback_list(callbacks) -> list:
    """``fit(callbacks=...)`` as a list: None, one callback (Keras accepts it too), or a list/tuple of them
    (nested lists are flattened, as Keras does)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, (list, tuple)):  # other items are left for CallbackList to explain
        return [cb for item in callbacks for cb in (as_callback_list(item) if _nested(item) else [item])]
    raise TypeError(
        "callbacks must be a list of lstmkit.callbacks.Callback instances, e.g. callbacks=[EarlyStopping(...)]. "
        f"Received: {callbacks!r} (type {type(callbacks).__name__})."
    )


def check_frequency(value, name: str, owner: str, words: str = "'epoch'"):
    """A ``save_freq``-like argument: ``'epoch'``, or a positive number of batches (as an int). ``words``
    names the strings the caller accepts, for the error."""
    if value == "epoch":
        return value
    if isinstance(value, str):  # an unknown word is a wrong value, as in Keras: ValueError
        raise ValueError(  # noqa: TRY004
            f"{name} must be {words} or a positive number of batches. Received: {name}={value!r}"
        )
    return check_int(value, name, 1, owner=owner, meaning="batches, or 'epoch'")
