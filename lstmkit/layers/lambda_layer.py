"""Lambda: a layer made from a function, ``Lambda(lambda x: x[:, -1, :])``.

Input: whatever the function takes (one tensor or a list); output: what it returns. ``output_shape`` may be
given (per-sample shape, or a function of the input shape); otherwise it is found by running the function
on a small example batch. ``arguments`` are passed to the function as keywords.

A model file never carries code, so a Lambda is saved by its function's *name* only: a module-level
``def`` function can be saved and is found again at loading through ``custom_objects={"name": function}``
(or ``@register_keras_serializable``); an anonymous ``lambda`` or a nested function cannot be saved — the
error says to write it as a named function or as a custom layer class.
"""

from __future__ import annotations

import inspect

from lstmkit.layers.base import Layer
from lstmkit.utils.custom_objects import get_registered_object

__all__ = ["Lambda"]


def _saveable_name(function) -> str | None:
    name = getattr(function, "__name__", None)
    qualname = getattr(function, "__qualname__", "")
    if not name or name == "<lambda>" or "<locals>" in qualname:
        return None
    return name


class Lambda(Layer):
    """``function(inputs, **arguments)`` as a layer (``mask``/``training`` passed when it takes them)."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda needs a function, e.g. Lambda(lambda x: x * 2). Received: {function!r}")
        self.function = function
        self._output_shape = output_shape
        self._mask = mask
        self.arguments = dict(arguments or {})
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        self._passes = {name for name in ("mask", "training") if name in parameters}
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None, training=None):
        extra = {"mask": mask, "training": training}
        return self.function(inputs, **self.arguments, **{k: extra[k] for k in self._passes})

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)  # traced
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape if not isinstance(input_shape[0], (tuple, list)) else input_shape[0]
        return (first[0],) + tuple(self._output_shape)

    def compute_mask(self, inputs, mask=None):
        if callable(self._mask):
            return self._mask(inputs, mask)
        return self._mask

    def get_config(self):
        name = _saveable_name(self.function)
        if name is None:
            raise ValueError(
                f"Layer '{self.name}' (Lambda) wraps an anonymous function ({self.function!r}), and lstmkit never "
                "writes code into a model file. Define it as a named module-level function (def my_function(x): "
                "...) and load with custom_objects={'my_function': my_function}, or write a custom Layer class with "
                "call() and get_config()."
            )
        if callable(self._output_shape) or callable(self._mask):
            raise ValueError(  # noqa: TRY004 - a model file's content, reported as the loaders report it
                f"Layer '{self.name}' (Lambda) has a function as output_shape or mask, which cannot be saved "
                "(a model file never carries code). Give output_shape as a tuple, or write a custom Layer class."
            )
        return {
            **super().get_config(),
            "function": name,
            "output_shape": None if self._output_shape is None else list(self._output_shape),
            "arguments": self.arguments,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.pop("function")
        if not isinstance(name, str):
            raise ValueError(  # noqa: TRY004 - a model file's content, reported as the loaders report it
                f"Lambda layer '{config.get('name')}': the saved function is not a name ({type(name).__name__}); "
                "lstmkit never loads code from a file. Rebuild the layer in Python, or pass the function by name "
                "through custom_objects."
            )
        function = get_registered_object(name, custom_objects)  # custom_objects, open scopes, registered
        if function is None:
            raise ValueError(
                f"Lambda layer '{config.get('name')}' calls the function {name!r}, which a model file cannot hold. "
                f"Pass it when loading: load_model(path, custom_objects={{{name!r}: {name}}})."
            )
        shape = config.pop("output_shape", None)
        return cls(function, output_shape=None if shape is None else tuple(shape), **config)
