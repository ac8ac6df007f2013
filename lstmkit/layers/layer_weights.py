"""A layer's weights as Keras sees them, and the Keras layer-authoring API that makes them.

``add_weight`` (Keras 2 and 3 argument forms) registers a torch parameter; ``keras_weights()`` lists
every weight in Keras's order and layout — by default the layer's own weights (``add_weight``'s,
trainable ones first, then any other parameter it registered) followed by the weights of the layers
inside it (attributes, lists and dicts of layers). ``get_weights``/``set_weights``/``weights``/
``count_params``, saving and the optimizer all rest on that list. ``add_loss`` adds a term to the
training loss for the current call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from lstmkit import initializers, regularizers
from lstmkit.layers.call_context import current_phase, record_loss
from lstmkit.utils.shapes import format_shape
from lstmkit.variables import Variable

__all__ = ["KerasWeight", "LayerWeights", "child_layers"]


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


@dataclass
class _AddedWeight:
    """What ``add_weight`` recorded: the Keras name, the parameter, and its declared behaviour."""

    name: str
    param: torch.nn.Parameter
    trainable: bool
    regularizer: object = None
    constraint: object = None


def child_layers(module) -> list:
    """The layers directly inside ``module``: its layer attributes and the layers in its lists and dicts."""
    from lstmkit.layers.base import Layer

    found = []
    for child in module.children():
        if isinstance(child, Layer):
            found.append(child)
        else:  # a tracked list/dict, a ModuleList/ModuleDict: look inside it
            found.extend(child_layers(child))
    return list(dict.fromkeys(found))


_KERAS3_ORDER = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint")
_KERAS2_ORDER = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")
# Keras arguments about distribution strategies and float8 training: only their defaults mean anything here.
_INERT = {"aggregation": ("none", "auto", None), "synchronization": ("auto", None), "partitioner": (None,)}


def _resolve_dtype(dtype, default: torch.dtype) -> torch.dtype:
    if dtype is None:
        return default
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).replace("torch.", "")
    resolved = getattr(torch, name, None)
    if not isinstance(resolved, torch.dtype):
        raise TypeError(
            f"add_weight: unknown dtype. Received: dtype={dtype!r}; use e.g. 'float32' or 'int32'."
        )
    return resolved


class LayerWeights:
    """Mixed into ``Layer``: weight creation, the Keras view of the weights, losses and penalties."""

    # ----------------------------------------------------------------- making weights
    def add_weight(self, *args, **kwargs) -> torch.nn.Parameter:
        """Create a weight: ``add_weight(shape=(3, 4), initializer='glorot_uniform', name='kernel',
        trainable=True, regularizer=None, constraint=None, dtype=None)``; Keras 2's positional form
        ``add_weight('kernel', shape=...)`` also works. Returns the torch parameter (use it in ``call``).
        Call it in ``__init__`` or ``build``: weights made in ``call`` would be new ones at every call."""
        order = _KERAS2_ORDER if args and isinstance(args[0], str) else _KERAS3_ORDER
        if len(args) > len(order):
            raise TypeError(
                f"add_weight takes at most {len(order)} positional arguments; received {len(args)}."
            )
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"add_weight got two values for {key!r}.")
            kwargs[key] = value
        allowed = (
            set(_KERAS3_ORDER)
            | set(_KERAS2_ORDER)
            | set(_INERT)
            | {"use_resource", "overwrite_with_gradient"}
        )
        from lstmkit.utils.naming import reject_unknown_kwargs

        reject_unknown_kwargs("add_weight", {k: v for k, v in kwargs.items() if k not in allowed}, allowed)
        for key, defaults in _INERT.items():
            if kwargs.get(key) not in defaults:
                raise ValueError(
                    f"add_weight({key}={kwargs[key]!r}) is about TensorFlow distribution strategies, which lstmkit "
                    f"does not use (data-parallel training is torchrun's; see docs/distributed.md). Leave {key} out."
                )
        if kwargs.get("overwrite_with_gradient"):
            raise ValueError(
                "add_weight(overwrite_with_gradient=True) (float8 training) is not supported; leave it out."
            )
        if self._calls and current_phase() is not None:
            raise RuntimeError(
                f"Layer '{self.name}' called add_weight inside call(), after it had already run: that would make "
                "new weights at every call, which training would never update. Create weights once, in "
                "build(self, input_shape) (or __init__), and use them in call()."
            )
        shape = kwargs.get("shape")
        shape = () if shape is None else (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if any(d is None or int(d) < 0 for d in shape):
            raise ValueError(
                f"add_weight needs a fully known shape. Received: shape={shape!r}. In build(), take sizes "
                "from input_shape, e.g. shape=(input_shape[-1], self.units)."
            )
        shape = tuple(int(d) for d in shape)
        dtype = _resolve_dtype(kwargs.get("dtype"), self.compute_dtype)
        initializer = kwargs.get("initializer")
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating_point else "zeros"
        value = initializers.get(initializer)(shape, dtype=dtype)
        value = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
        value = value.to(dtype=dtype, device=self._device())
        if tuple(value.shape) != shape:
            raise ValueError(
                f"add_weight: the initializer {initializer!r} returned shape {tuple(value.shape)}, not {shape}."
            )
        trainable = True if kwargs.get("trainable") is None else bool(kwargs["trainable"])
        param = Variable(value, requires_grad=trainable and self.trainable and dtype.is_floating_point)
        param._keras_trainable = trainable
        name = str(kwargs.get("name") or f"variable_{len(self._added_weights)}")
        self.register_parameter(self._free_attribute(name), param)
        self._added_weights.append(
            _AddedWeight(
                name, param, trainable, regularizers.get(kwargs.get("regularizer")), kwargs.get("constraint")
            )
        )
        return param

    def _free_attribute(self, name: str) -> str:
        base = re.sub(r"[^0-9A-Za-z_]", "_", name) or "weight"
        candidate, i = base, 1
        while candidate in self._parameters or candidate in self.__dict__ or candidate in self._modules:
            candidate, i = f"{base}_{i}", i + 1
        return candidate

    def _device(self) -> torch.device:
        param = next(self.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def _new_weight(self, shape, initializer, trainable=True) -> torch.nn.Parameter:
        """lstmkit's own layers: a parameter made by ``initializer``, registered by assigning it."""
        value = initializer(tuple(shape), dtype=self.compute_dtype)
        param = Variable(value, requires_grad=trainable and self.trainable)
        param._keras_trainable = bool(trainable)
        return param

    # ----------------------------------------------------------------- the Keras view
    def keras_weights(self) -> list[KerasWeight]:
        """The layer's weights in Keras's order and layout: its own (``add_weight``'s trainable ones,
        then its non-trainable ones, then any other parameter it registered), then its inner layers'."""
        added = sorted(self._added_weights, key=lambda w: not w.trainable)
        seen = {id(w.param) for w in added}
        own = [_direct_weight(self.name, w.name, w.param, w.trainable and self.trainable) for w in added]
        own += [
            _direct_weight(self.name, name, p, p.requires_grad)
            for name, p in self.named_parameters(recurse=False)
            if id(p) not in seen
        ]
        return own + [w for layer in child_layers(self) if layer.built for w in layer.keras_weights()]

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
        _refuse_unbuilt(self, targets, weights)
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
        if not self.built and (hasattr(self, "fit") or not self._weights_known()):
            raise ValueError(
                f"'{self.name}' is not built yet, so it has no weights to count. Build it first: call it on data, "
                "give its first layer input_shape=(...), or call .build(input_shape)."
            )
        return sum(w.size for w in self.keras_weights())

    def _weights_known(self) -> bool:
        try:
            self.keras_weights()
        except AttributeError:  # weights made in build(), which has not run
            return False
        return True

    # ----------------------------------------------------------------- constraints
    # Keras weight name -> the attribute holding its constraint (``kernel_constraint=`` and friends).
    constraint_arguments: ClassVar[dict] = {}

    def weight_constraints(self) -> list[tuple[KerasWeight, Callable]]:
        """(weight, constraint) pairs of this layer and the layers inside it, applied after every update to
        the weight in Keras's layout."""
        own = [
            (_direct_weight(self.name, w.name, w.param, w.trainable), w.constraint)
            for w in self._added_weights
            if w.constraint is not None
        ]
        if self.constraint_arguments and self.built:
            for weight in self.keras_weights():
                attribute = self.constraint_arguments.get(weight.name.rsplit("/", 1)[-1])
                constraint = getattr(self, attribute, None) if attribute else None
                if constraint is not None:
                    own.append((weight, constraint))
        return own + [
            pair for layer in child_layers(self) if layer.built for pair in layer.weight_constraints()
        ]

    # ----------------------------------------------------------------- losses
    def add_loss(self, loss, inputs=None) -> None:
        """Add ``loss`` (a scalar tensor, e.g. an activity penalty computed in ``call``) to the training loss
        of the current call. ``inputs`` is Keras 2's argument and only accepted."""
        if callable(loss) and not isinstance(loss, torch.Tensor):
            loss = loss()
        if not isinstance(loss, torch.Tensor):  # (a tensor passes untouched: torch.compile traces through it)
            loss = torch.as_tensor(loss)
        self._losses.append(loss)
        record_loss(loss)

    @property
    def losses(self) -> list[torch.Tensor]:
        """The losses added by the latest call of this layer and the layers inside it, and the weight
        regularization penalties."""
        added = list(self._losses) + [loss for layer in child_layers(self) for loss in layer._losses]
        return added + self.regularization_losses()

    def regularization_losses(self) -> list[torch.Tensor]:
        """Penalties this layer adds to the training loss: its ``add_weight`` regularizers' and those of
        the layers inside it. Layers with regularizer arguments of their own add theirs (``_penalties``)."""
        own = [w.regularizer(w.param) for w in self._added_weights if w.regularizer is not None]
        return own + [p for child in child_layers(self) for p in child.regularization_losses()]

    def _penalties(self, *pairs) -> list[torch.Tensor]:
        """For ``regularization_losses``: each ``(regularizer, weight)`` pair's penalty (pairs with either one
        missing are skipped), then the added weights' and inner layers' penalties."""
        own = [
            regularizer(weight)
            for regularizer, weight in pairs
            if regularizer is not None and weight is not None
        ]
        return own + LayerWeights.regularization_losses(self)


def _refuse_unbuilt(layer, targets, weights) -> None:
    """set_weights before the weights exist: say how to build first (not a raw AttributeError from torch)."""
    unbuilt = [m for m in getattr(layer, "layers", ()) if not getattr(m, "built", True)] or (
        [layer] if not layer.built and not targets else []  # weights set while building are fine
    )
    if not unbuilt:
        return
    received = ", ".join(format_shape(np.shape(w)) for w in weights)
    if hasattr(layer, "layers"):
        kind, how = (
            "Model",
            (
                "model.build((None, timesteps, features)), or give the first layer input_shape=(timesteps, "
                "features), or run fit/predict once"
            ),
        )
    else:
        kind, how = "Layer", "layer.build(input_shape) (batch axis first), or call it on a batch once"
    raise ValueError(
        f"{kind} '{layer.name}' is not built yet, so it has no weights to set: layers make their weights once "
        f"they know their input shape. Build it first: {how}; then call set_weights. Received {len(weights)} "
        f"arrays with shapes [{received}]."
    )
