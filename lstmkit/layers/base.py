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

import functools
import inspect
from typing import ClassVar

import numpy as np
import torch

from lstmkit import backend, regularizers
from lstmkit.graph.keras_tensor import symbolic_arguments
from lstmkit.layers import tracking
from lstmkit.layers.call_context import current_phase, phase
from lstmkit.layers.layer_nodes import LayerNodes
from lstmkit.layers.layer_weights import KerasWeight, LayerWeights, child_layers
from lstmkit.mixed_precision.policy import policy_of
from lstmkit.utils.checks import check_int, is_int
from lstmkit.utils.naming import reject_unknown_kwargs, snake_case, unique_name
from lstmkit.utils.shapes import format_shape, is_shape

__all__ = ["InputShapeError", "KerasWeight", "Layer", "format_shape"]


class InputShapeError(ValueError):
    """A layer received an input whose rank or size it cannot take.

    ``layer`` is the layer that refused; ``expected_ndim`` its required rank (with batch axis), if any.
    """

    def __init__(self, message: str, layer: Layer, received_shape, expected_ndim: int | None = None):
        super().__init__(message)
        self.layer = layer
        self.received_shape = tuple(received_shape)
        self.expected_ndim = expected_ndim


class Layer(LayerNodes, LayerWeights, torch.nn.Module):
    """Base class of all lstmkit layers.

    Subclasses set ``expected_ndim`` (rank including the batch axis) or ``min_ndim`` to have their
    input checked, ``input_axes`` to describe it in errors, and implement ``build``, ``call``,
    ``compute_output_shape`` and ``get_config``. Called on symbolic tensors (``keras.Input``), a layer
    builds itself and returns symbolic outputs (see lstmkit/graph); called on data, it computes.
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
        activity_regularizer=None,
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
        self._dtype_policy = policy_of(dtype)  # mixed precision (lstmkit/mixed_precision): compute dtype
        if self._dtype_policy is not None:
            self._dtype_name = self._dtype_policy.variable_dtype  # weights; the policy sets the compute dtype
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
        self.built_input_shape: tuple | list | None = None
        self._losses: list = []
        self._inbound_nodes: list = []  # one per call on symbolic tensors (lstmkit/graph/node.py)
        self._added_weights: list = []  # add_weight's records, in creation order
        self._calls = 0  # finished calls; add_weight in a later call would make new weights every step
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.training = False  # Keras's default phase is inference; fit/evaluate/predict pass theirs

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            cls.build = _marking_built(build)

    def __setattr__(self, name, value):
        modules = self.__dict__.get("_modules")
        if modules is not None:
            if name in modules and not isinstance(value, torch.nn.Module):
                del modules[name]  # a tracked list/dict replaced by another value
            value = tracking.track(self, name, value)
            if isinstance(value, tracking.Tracked):
                # torch would refuse a non-module under a registered name
                object.__setattr__(self, name, value)
                return
        super().__setattr__(name, value)

    def __call__(self, *args, **kwargs):
        if symbolic_arguments(args, kwargs):
            from lstmkit.graph.node import symbolic_call

            return symbolic_call(self, args, kwargs)
        return super().__call__(*args, **kwargs)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        """Freeze (False) or unfreeze this layer and the layers inside it; takes effect at the next fit.
        Weights made non-trainable by design (``add_weight(trainable=False)``) stay non-trainable."""
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = bool(value)
        for param in self.parameters():
            param.requires_grad_(bool(value) and getattr(param, "_keras_trainable", True))

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
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, usually None; a list of
        shapes for a layer called on several tensors)."""

    def check_input_shape(self, input_shape) -> None:
        """Raise InputShapeError if this layer cannot take ``input_shape`` (batch axis included)."""
        if not is_shape(input_shape):
            return  # several inputs: the layer checks them in build/call
        spec = self.__dict__.get("input_spec")
        if spec is not None and hasattr(spec, "check"):  # Keras's InputSpec set by a custom layer
            problem = spec.check(self, input_shape)
            if problem:
                raise InputShapeError(
                    f"Layer '{self.name}' ({type(self).__name__}) {problem} (its input_spec is {spec!r}).",
                    self,
                    input_shape,
                    spec.ndim,
                )
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
            is_shape(built)
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
        input_shape = _normalize_shape(input_shape)
        self.check_input_shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
            self.built_input_shape = _without_batch(input_shape)
            if type(self).build is Layer.build and any(not layer.built for layer in child_layers(self)):
                self._build_by_running(input_shape)

    def _build_by_running(self, input_shape) -> None:
        """A layer without its own ``build`` that holds other layers: run it once on a small zero batch, so
        that the layers inside make their weights now (as Keras does), not at the first real call."""
        from lstmkit.graph.tracing import trace_output_shape

        try:
            trace_output_shape(self, input_shape)
        except ValueError:
            pass  # they will build at the first real call, where any error is the user's to see

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (a list of shapes for several outputs). Layers that do
        not say are run once on a small zero batch to find out (lstmkit/graph/tracing.py)."""
        from lstmkit.graph.tracing import trace_output_shape

        return trace_output_shape(self, input_shape)

    def output_dtype(self, input_dtype) -> str:
        """The dtype name of this layer's symbolic outputs, given its inputs' (a dtype or a structure)."""
        return self._dtype_name or backend.floatx()

    def hint_for_next_layer(self, error: InputShapeError) -> str:
        """A sentence telling how to change *this* layer so that the next one accepts its output."""
        return ""

    @property
    def compute_dtype(self) -> torch.dtype:
        return getattr(torch, self._dtype_name) if self._dtype_name else backend.float_dtype()

    # ----------------------------------------------------------------- calling
    def _as_tensors(self, inputs):
        """``inputs`` (a tensor, an array, a list, or a list of those) as tensors of the layer's dtype."""
        if isinstance(inputs, torch.Tensor):
            return inputs
        if (
            isinstance(inputs, (list, tuple))
            and inputs
            and all(isinstance(t, (torch.Tensor, np.ndarray)) for t in inputs)
        ):
            return [self._as_tensors(t) for t in inputs]
        return torch.as_tensor(np.asarray(inputs), dtype=self.compute_dtype)

    def forward(self, inputs, *args, **kwargs):
        """Build on first use, resolve the mask and the training phase, call ``call``, attach the
        output mask. The mask comes from ``mask=`` or from the input tensors (``_keras_mask``); the phase
        from ``training=``, else from the call around this one (lstmkit/layers/call_context.py)."""
        inputs = self._as_tensors(inputs)
        if not self.built:
            self.ensure_built(_shape_of(inputs))
        elif (
            self.expected_ndim is not None
            and isinstance(inputs, torch.Tensor)
            and inputs.dim() != self.expected_ndim
        ):
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        mask = kwargs.pop("mask", None)
        if mask is None:
            mask = _mask_of(inputs)
        if mask is not None and self._call_takes("mask"):
            kwargs["mask"] = mask
        training = kwargs.pop("training", None)
        outer = current_phase()
        if (
            training is None
        ):  # inherit: the outer call's phase, else torch's module flag (off unless .train())
            training = self.training if outer is None else outer
        training = bool(training)
        if self._call_takes("training"):
            kwargs["training"] = training
        if self._losses:
            self._losses = []  # a layer's losses are those of its latest call
        if self._dtype_policy is not None:  # mixed precision: autocast around call
            with phase(training):
                outputs = self._dtype_policy.call(self, inputs, args, kwargs, outermost=outer is None)
        elif outer is training:
            outputs = self.call(inputs, *args, **kwargs)
        else:
            with phase(training):
                outputs = self.call(inputs, *args, **kwargs)
        if not self._calls:  # "called before" is what counts; a growing count would make torch.compile
            self._calls = 1  # (jit_compile) recompile on every call, as it guards on int attributes
        if self.activity_regularizer is not None:
            self._penalize_activity(outputs)
        if mask is not None or _makes_masks(type(self)):
            _attach_masks(outputs, self.compute_mask(inputs, mask))
        return outputs

    def call(self, inputs, *args, **kwargs):
        return inputs

    def _penalize_activity(self, outputs) -> None:
        """``activity_regularizer=``: its penalty on each output, per sample (divided by the batch size)."""
        for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            if isinstance(output, torch.Tensor) and output.is_floating_point():
                penalty = self.activity_regularizer(output)
                self.add_loss(penalty / output.shape[0] if output.dim() and output.shape[0] else penalty)

    def compute_mask(self, inputs, mask=None):
        """The mask for this layer's output: passed through if the layer supports masking."""
        return mask if self.supports_masking else None

    _signature_cache: ClassVar[dict] = {}

    def _call_takes(self, arg: str) -> bool:
        key = (type(self), arg)
        if key not in Layer._signature_cache:
            Layer._signature_cache[key] = arg in inspect.signature(self.call).parameters
        return Layer._signature_cache[key]

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self._dtype_name:
            config["dtype"] = self._dtype_name if self._dtype_policy is None else self._dtype_policy.name
        if self.input_shape_declared is not None:
            config["batch_input_shape"] = self.input_shape_declared
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A new layer from ``get_config()``'s dict; wrappers use ``custom_objects`` for their inner layers."""
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _marking_built(build):
    """``build`` that also marks the layer built, as Keras does: calling ``layer.build(shape)`` yourself and then
    the layer must not build (and initialize) its weights a second time."""

    @functools.wraps(build)
    def wrapped(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        shape = args[0] if args else kwargs.get("input_shape")
        self.built = True
        if self.built_input_shape is None and shape is not None:
            try:
                self.built_input_shape = _without_batch(_normalize_shape(shape))
            except TypeError:  # a shape this module does not read (a dict of shapes): leave it unrecorded
                pass
        return result

    wrapped._marks_built = True
    return wrapped


def _normalize_shape(shape):
    if is_shape(shape):
        return tuple(None if d is None else int(d) for d in shape)
    return [_normalize_shape(s) for s in shape]


def _without_batch(shape):
    if is_shape(shape):
        return (None,) + tuple(shape[1:])
    return [_without_batch(s) for s in shape]


def _shape_of(inputs):
    if isinstance(inputs, torch.Tensor):
        return (None,) + tuple(inputs.shape[1:])
    return [_shape_of(t) for t in inputs]


def _mask_of(inputs):
    if isinstance(inputs, torch.Tensor):
        return getattr(inputs, "_keras_mask", None)
    masks = [getattr(t, "_keras_mask", None) for t in inputs]
    return None if all(m is None for m in masks) else masks


def _attach_masks(outputs, mask) -> None:
    """Set ``_keras_mask`` on the output tensor(s); a single mask for a list output goes to its first."""
    if mask is None:
        return
    if isinstance(outputs, torch.Tensor):
        outputs._keras_mask = mask if isinstance(mask, torch.Tensor) else mask[0]
        return
    masks = mask if isinstance(mask, (list, tuple)) else [mask]
    for output, m in zip(outputs, masks):
        if m is not None and isinstance(output, torch.Tensor):
            output._keras_mask = m


_MASK_MAKERS: dict = {}


def _makes_masks(cls) -> bool:
    """Whether ``cls`` may produce a mask without receiving one (it overrides compute_mask)."""
    if cls not in _MASK_MAKERS:
        _MASK_MAKERS[cls] = cls.compute_mask is not Layer.compute_mask
    return _MASK_MAKERS[cls]


def _positive_int(value, what: str) -> int:
    return check_int(value, what, 1)


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
        if d is not None and (not is_int(d) or d < 1):
            raise ValueError(f"{what} must contain positive integers or None. Received: {what}={shape!r}")
    return tuple(None if d is None else int(d) for d in dims)
