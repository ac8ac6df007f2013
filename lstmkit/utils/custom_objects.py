"""Your own layers, losses, metrics and functions, found by name when a model is loaded.

Model files hold names, never code. At loading, a name is looked up in the ``custom_objects`` passed to
``load_model``/``model_from_json``, then in any ``custom_object_scope`` open around the call, then among
the objects registered with ``@register_keras_serializable()`` or put in ``get_custom_objects()``
(Keras's global dict), then among lstmkit's own classes.
"""

from __future__ import annotations

import contextlib

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
]

_GLOBAL: dict = {}
_SCOPES: list[dict] = []


def get_custom_objects() -> dict:
    """The global dict of custom objects by name (``get_custom_objects()["MyLayer"] = MyLayer``)."""
    return _GLOBAL


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator: register a class or function under ``"package>name"`` (and its plain name) so that files
    naming it load without ``custom_objects``."""

    def decorator(obj):
        key = name or getattr(obj, "__name__", None)
        if not key:
            raise ValueError(f"register_keras_serializable: cannot tell the name of {obj!r}; pass name=...")
        registered = f"{package}>{key}"
        if registered in _GLOBAL and _GLOBAL[registered] is not obj:
            raise ValueError(f"{registered!r} is already registered to {_GLOBAL[registered]!r}.")
        _GLOBAL[registered] = obj
        _GLOBAL.setdefault(key, obj)
        obj._lstmkit_registered_name = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    return getattr(obj, "_lstmkit_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


@contextlib.contextmanager
def custom_object_scope(*scopes):
    """``with custom_object_scope({"MyLayer": MyLayer}): load_model(path)``."""
    merged = {}
    for scope in scopes:
        merged.update(scope or {})
    _SCOPES.append(merged)
    try:
        yield
    finally:
        _SCOPES.pop()


CustomObjectScope = custom_object_scope


def get_registered_object(name: str, custom_objects: dict | None = None):
    """The object registered under ``name`` (``custom_objects`` first, then scopes, then the global dict), or
    None."""
    for table in [custom_objects or {}, *reversed(_SCOPES), _GLOBAL]:
        if name in table:
            return table[name]
    return None


def all_custom_objects(custom_objects: dict | None = None) -> dict:
    """Every custom object visible now, by name (the global dict < scopes < ``custom_objects``)."""
    merged = dict(_GLOBAL)
    for scope in _SCOPES:
        merged.update(scope)
    merged.update(custom_objects or {})
    return merged
