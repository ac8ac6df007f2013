"""The import hook of ``lstmkit run``: Keras's module names resolve to lstmkit's.

``keras``, ``tensorflow.keras``, ``tensorflow.python.keras`` and ``tf_keras`` stand for ``lstmkit``, whose
module paths mirror Keras's: ``keras.layers.LSTM`` is ``lstmkit.layers.LSTM``. Keras 3's internal
``keras.src.*`` and ``keras.api.*`` paths drop that segment. A Keras 2 submodule that lstmkit does not
split out (``keras.layers.merge``, ``keras.optimizers.legacy``) is its package (``lstmkit.layers``,
``lstmkit.optimizers``), which holds the same names; ``keras.engine.*`` is ``lstmkit.run.keras_engine``.
``tensorflow`` itself is a small stand-in (tf_standin.py). Anything else fails with a message that says
which module has no lstmkit counterpart.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

from lstmkit.utils.naming import closest

__all__ = ["KerasAliasFinder", "install", "resolve", "uninstall"]

# Longest prefixes first: each stands for the lstmkit package.
_KERAS_PREFIXES = ("tensorflow.python.keras", "tensorflow.keras", "tf_keras", "keras")
_INTERNAL_SEGMENTS = ("src", "api")  # keras.src.layers -> lstmkit.layers
_ENGINE = "lstmkit.run.keras_engine"
# Keras 2 submodules that lstmkit keeps in their package (which holds the same names). Only these:
# an unknown name must not become a package (``from keras.layers import Foo`` would then get a module).
_KERAS2_SUBMODULES = {
    "layers": {
        "activation",
        "advanced_activations",
        "attention",
        "convolutional_recurrent",
        "core",
        "cudnn_recurrent",
        "dense_attention",
        "local",
        "merge",
        "merging",
        "noise",
        "normalization",
        "pooling",
        "recurrent",
        "recurrent_v2",
        "regularization",
        "reshaping",
        "rnn",
    },
    "models": {"cloning", "functional", "model", "sequential"},
    "optimizers": {"legacy", "optimizer_v2"},
    "utils": {"generic_utils", "io_utils", "layer_utils", "vis_utils"},
    "callbacks": {"callbacks"},
}
_KERAS_MODULES = (
    "activations",
    "backend",
    "callbacks",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "preprocessing",
    "regularizers",
    "saving",
    "utils",
    "wrappers",
)


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _keras_path(fullname: str) -> tuple[str, list[str]] | None:
    """(the Keras prefix used, the path below it) for a Keras module name, else None."""
    for prefix in _KERAS_PREFIXES:
        if fullname == prefix or fullname.startswith(prefix + "."):
            rest = fullname[len(prefix) + 1 :].split(".") if fullname != prefix else []
            if rest and rest[0] in _INTERNAL_SEGMENTS:
                rest = rest[1:]
            return prefix, rest
    return None


def resolve(fullname: str) -> str | None:
    """The lstmkit module that stands for ``fullname``; None if it is not a Keras name.

    Raises ModuleNotFoundError, naming the module, for a Keras module lstmkit has no counterpart of."""
    found = _keras_path(fullname)
    if found is None:
        return None
    prefix, rest = found
    if not rest:
        return "lstmkit"
    if rest[0] == "engine":
        return _ENGINE
    target = "lstmkit." + ".".join(rest)
    if _exists(target):
        return target
    if len(rest) >= 2 and rest[1] in _KERAS2_SUBMODULES.get(rest[0], ()):
        return "lstmkit." + rest[0]
    suggestions = closest(rest[0], _KERAS_MODULES)
    hint = f" Did you mean {prefix}.{suggestions[0]}?" if suggestions else ""
    # No ``name`` on the error: `from keras import x` would otherwise replace this message by its own.
    raise ModuleNotFoundError(
        f"No module named '{fullname}': `lstmkit run` maps Keras to lstmkit, which has no counterpart of "
        f"'{prefix}.{'.'.join(rest)}'.{hint} lstmkit provides "
        + ", ".join(f"{prefix}.{m}" for m in _KERAS_MODULES)
        + "."
    )


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias as the lstmkit module itself: one module object under both names."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        """Nothing to run: the lstmkit module is already imported."""


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        from lstmkit.run.tf_standin import tensorflow_module

        return tensorflow_module()

    def exec_module(self, module):
        """The stand-in is complete when created."""


class KerasAliasFinder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path`` while ``lstmkit run`` runs a script."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "tensorflow":
            return importlib.machinery.ModuleSpec(fullname, _StandInLoader(), is_package=True)
        lstmkit_name = resolve(fullname)
        if lstmkit_name is None:
            if fullname.startswith("tensorflow."):
                from lstmkit.run.tf_standin import missing_module

                raise missing_module(fullname)
            return None
        # A package only if the lstmkit module is one (else the import system would give it a __path__);
        # keras.engine has submodules (topology, base_layer, ...) that are all the one engine module.
        is_package = (
            lstmkit_name == _ENGINE
            or importlib.util.find_spec(lstmkit_name).submodule_search_locations is not None
        )
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(lstmkit_name), is_package=is_package)


_FINDER = KerasAliasFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the finder and forget every module imported through it."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in list(sys.modules):
        if name == "tensorflow" or name.startswith("tensorflow.") or _keras_path(name) is not None:
            del sys.modules[name]
