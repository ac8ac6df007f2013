"""The Layer base class: a ``torch.nn.Module`` whose weights are made lazily from the first input shape.

Life of a layer (as in Keras): ``__init__`` validates arguments; ``build(input_shape)`` makes the
weights once the input shape is known (from ``input_shape=``, from the previous layer, or from
the first data); ``call(inputs)`` computes. Shapes given to ``build`` and ``compute_output_shape``
include the batch axis, usually ``None``.

A layer keeps its torch parameters in whatever layout computes fastest. Keras's layout exists only
at the boundary: ``keras_weights()`` lists each weight as a view that reads and writes the Keras
layout, and ``get_weights``/``set_weights``/``weights``/``count_params`` are built on it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from lstmkit import backend
from lstmkit.utils.naming import reject_unknown_kwargs, snake_case, unique_name

__all__ = ["InputShapeError", "KerasWeight", "Layer", "format_shape"]


def format_shape(shape) -> str:
    """'(None, 10)' for (None, 10); '(5,)' for (5,)."""
    shape = tuple(shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


class InputShapeError(ValueError):
    """A layer received an input whose rank or size it cannot take.

    ``layer`` is the layer that refused; ``expected_ndim`` its required rank (with batch axis), if any.
    """

    def __init__(self, message: str, layer: Layer, received_shape, expected_ndim: int | None = None):
        super().__init__(message)
        self.layer = layer
        self.received_shape = tuple(received_shape)
        self.expected_ndim = expected_ndim


@dataclass
class KerasWeight:
    """One weight as Keras sees it: a name, a Keras-layout shape, and how to read/write it."""

    name: str
    shape: tuple
    read: Callable[[], torch.Tensor]
    write: Callable[[torch.Tensor], None]
    trainable: bool = True

    def numpy(self) -> np.ndarray:
        """A copy (as Keras returns): later training does not change arrays already handed out."""
        return self.read().detach().cpu().numpy().copy()

    def assign(self, value) -> None:
        value = torch.as_tensor(np.asarray(value))
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(
                f"Weight {self.name!r} has shape {format_shape(self.shape)}; received a value of shape "
                f"{format_shape(value.shape)}."
            )
        with torch.no_grad():
            self.write(value)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self):
        return f"<KerasWeight {self.name} shape={self.shape} trainable={self.trainable}>"


def _direct_weight(layer_name: str, name: str, param: torch.Tensor, trainable: bool) -> KerasWeight:
    def write(value, param=param):
        param.copy_(value.to(dtype=param.dtype, device=param.device))

    return KerasWeight(f"{layer_name}/{name}", tuple(param.shape), lambda: param, write, trainable)


class Layer(torch.nn.Module):
    """Base class of all lstmkit layers.

    Subclasses set ``expected_ndim`` (rank including the batch axis) or ``min_ndim`` to have their
    input checked, ``input_axes`` to describe it in errors, and implement ``build``, ``call``,
    ``compute_output_shape`` and ``get_config``.
    """

    expected_ndim: int | None = None
    min_ndim: int | None = None
    input_axes: str = ""  # e.g. "(batch, timesteps, features)", used in error messages
    supports_masking: bool = False
    input_dtype: str = "float"  # "int" for layers that take token ids (Embedding)

    def __init__(
        self,
        *,
        name=None,
        trainable=True,
        dtype=None,
        input_shape=None,
        batch_input_shape=None,
        batch_size=None,
        input_dim=None,
        **kwargs,
    ):
        super().__init__()
        reject_unknown_kwargs(type(self).__name__, kwargs, self._accepted_kwargs())
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string. Received: name={name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype_name = (
            dtype if isinstance(dtype, str) or dtype is None else str(dtype).replace("torch.", "")
        )
        self.built = False
        self.input_shape_declared = self._declared_shape(
            input_shape, batch_input_shape, batch_size, input_dim
        )
        self.declared_batch_size = (
            self.input_shape_declared[0]
            if self.input_shape_declared
            else None
            if batch_size is None
            else _positive_int(batch_size, "batch_size")
        )
        self.built_input_shape: tuple | None = None
        self._losses: list = []

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        """Freeze (False) or unfreeze this layer and the layers inside it; takes effect at the next fit."""
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = bool(value)
        for param in self.parameters():
            param.requires_grad_(bool(value))

    # ----------------------------------------------------------------- construction helpers
    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        names = set()
        for klass in cls.__mro__:
            if klass is torch.nn.Module:
                break
            init = klass.__dict__.get("__init__")
            if init is not None:
                names |= {p for p in inspect.signature(init).parameters if p not in ("self", "kwargs")}
        return names

    def _declared_shape(self, input_shape, batch_input_shape, batch_size, input_dim):
        """Full input shape (batch axis first) declared in the constructor, or None."""
        given = [
            n
            for n, v in (
                ("input_shape", input_shape),
                ("batch_input_shape", batch_input_shape),
                ("input_dim", input_dim),
            )
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"{type(self).__name__}: give only one of input_shape, batch_input_shape, input_dim. "
                f"Received: {', '.join(given)}."
            )
        if batch_input_shape is not None:
            shape = _as_shape(batch_input_shape, "batch_input_shape")
            if batch_size is not None and shape[0] not in (None, batch_size):
                raise ValueError(
                    f"batch_size={batch_size} disagrees with batch_input_shape={format_shape(shape)}."
                )
            return shape
        if input_dim is not None:
            input_shape = self._shape_from_input_dim(_positive_int(input_dim, "input_dim"))
        if input_shape is None:
            return None
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        batch = None if batch_size is None else _positive_int(batch_size, "batch_size")
        return (batch,) + _as_shape(input_shape, "input_shape")

    def _shape_from_input_dim(self, input_dim: int) -> tuple:
        """The per-sample shape that the Keras 2 ``input_dim=`` argument stands for."""
        return (input_dim,)

    # ----------------------------------------------------------------- building
    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, usually None)."""

    def check_input_shape(self, input_shape: tuple) -> None:
        """Raise InputShapeError if this layer cannot take ``input_shape`` (batch axis included)."""
        ndim = len(input_shape)
        wanted = self.expected_ndim
        if wanted is not None and ndim != wanted:
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {wanted}-D input "
                f"{self.input_axes}".rstrip()
                + f"; received a {ndim}-D input of shape {format_shape(input_shape)}.",
                self,
                input_shape,
                wanted,
            )
        if self.min_ndim is not None and ndim < self.min_ndim:
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) expects input with at least {self.min_ndim} "
                f"dimensions; received a {ndim}-D input of shape {format_shape(input_shape)}.",
                self,
                input_shape,
                self.min_ndim,
            )
        built = self.built_input_shape
        if (
            built is not None
            and len(built) == ndim
            and None not in (built[-1], input_shape[-1])
            and built[-1] != input_shape[-1]
        ):
            # Only the feature axis is fixed by the weights; other axes (e.g. timesteps) may vary.
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for inputs with {built[-1]} features "
                f"(last axis), shape {format_shape(built)}; received shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )

    def ensure_built(self, input_shape) -> None:
        """Check ``input_shape`` and build the weights if that has not happened yet."""
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        self.check_input_shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
            self.built_input_shape = (None,) + input_shape[1:]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def hint_for_next_layer(self, error: InputShapeError) -> str:
        """A sentence telling how to change *this* layer so that the next one accepts its output."""
        return ""

    def _new_weight(self, shape, initializer, trainable=True) -> torch.nn.Parameter:
        value = initializer(tuple(shape), dtype=self.compute_dtype)
        return torch.nn.Parameter(value, requires_grad=trainable and self.trainable)

    @property
    def compute_dtype(self) -> torch.dtype:
        return getattr(torch, self._dtype_name) if self._dtype_name else backend.float_dtype()

    # ----------------------------------------------------------------- calling
    def forward(self, inputs, *args, mask=None, **kwargs):
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.as_tensor(np.asarray(inputs), dtype=self.compute_dtype)
        if not self.built:
            self.ensure_built((None,) + tuple(inputs.shape[1:]))
        elif self.expected_ndim is not None and inputs.dim() != self.expected_ndim:
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        if mask is not None and self._call_takes("mask"):
            kwargs["mask"] = mask
        if self._call_takes("training") and "training" not in kwargs:
            kwargs["training"] = self.training
        return self.call(inputs, *args, **kwargs)

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        """The mask for this layer's output: passed through if the layer supports masking."""
        return mask if self.supports_masking else None

    _signature_cache: ClassVar[dict] = {}

    def _call_takes(self, arg: str) -> bool:
        key = (type(self), arg)
        if key not in Layer._signature_cache:
            Layer._signature_cache[key] = arg in inspect.signature(self.call).parameters
        return Layer._signature_cache[key]

    # ----------------------------------------------------------------- weights, Keras side
    def keras_weights(self) -> list[KerasWeight]:
        """The layer's weights in Keras's order and layout. Default: every direct parameter as is."""
        return [
            _direct_weight(self.name, name, p, p.requires_grad)
            for name, p in self.named_parameters(recurse=False)
        ]

    @property
    def weights(self) -> list[KerasWeight]:
        return self.keras_weights()

    @property
    def trainable_weights(self) -> list[KerasWeight]:
        return [w for w in self.keras_weights() if w.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list[KerasWeight]:
        return [w for w in self.keras_weights() if not (w.trainable and self.trainable)]

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays in Keras's order and layout."""
        return [w.numpy() for w in self.keras_weights()]

    def set_weights(self, weights) -> None:
        """Set the weights from arrays in Keras's order and layout (as ``get_weights`` returns them)."""
        targets = self.keras_weights()
        weights = list(weights)
        expected = ", ".join(f"{w.name.split('/')[-1]} {format_shape(w.shape)}" for w in targets)
        received = ", ".join(format_shape(np.shape(w)) for w in weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' has {len(targets)} weight arrays [{expected}]; received {len(weights)} "
                f"arrays with shapes [{received}]."
            )
        for target, value in zip(targets, weights):
            if tuple(np.shape(value)) != tuple(target.shape):
                raise ValueError(
                    f"Layer '{self.name}': weight '{target.name}' has shape {format_shape(target.shape)}; "
                    f"received an array of shape {format_shape(np.shape(value))}. Expected, in order: [{expected}]."
                )
        for target, value in zip(targets, weights):
            target.assign(value)

    def count_params(self) -> int:
        return sum(w.size for w in self.keras_weights())

    # ----------------------------------------------------------------- regularization
    def regularization_losses(self) -> list[torch.Tensor]:
        """Penalties this layer adds to the training loss: those of the layers inside it, by default.
        Layers with regularizers of their own add theirs to this."""
        return [
            p for child in self.children() if isinstance(child, Layer) for p in child.regularization_losses()
        ]

    def _penalties(self, *pairs) -> list[torch.Tensor]:
        """For ``regularization_losses``: each ``(regularizer, weight)`` pair's penalty (pairs with either one
        missing are skipped), then the inner layers' penalties."""
        own = [
            regularizer(weight)
            for regularizer, weight in pairs
            if regularizer is not None and weight is not None
        ]
        return own + Layer.regularization_losses(self)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self._dtype_name:
            config["dtype"] = self._dtype_name
        if self.input_shape_declared is not None:
            config["batch_input_shape"] = self.input_shape_declared
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A new layer from ``get_config()``'s dict; wrappers use ``custom_objects`` for their inner layers."""
        return cls(**config)

    # ----------------------------------------------------------------- shapes after build
    @property
    def input_shape(self):
        if self.built_input_shape is not None:
            return self.built_input_shape
        if self.input_shape_declared is not None:
            return self.input_shape_declared
        raise AttributeError(f"Layer '{self.name}' has not been built yet, so it has no input_shape.")

    @property
    def output_shape(self):
        return self.compute_output_shape(self.input_shape)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer. Received: {what}={value!r}")
    return int(value)


def _as_shape(shape, what: str) -> tuple:
    """A tuple of positive ints / None; a clear error otherwise."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{what} must be a tuple such as (timesteps, features). Received: {what}={shape!r}"
        ) from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1):
            raise ValueError(f"{what} must contain positive integers or None. Received: {what}={shape!r}")
    return tuple(None if d is None else int(d) for d in dims)
