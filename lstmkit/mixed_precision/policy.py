"""Dtype policies (Keras's mixed precision): what a layer computes in, and what its weights are stored in.

``'mixed_bfloat16'`` / ``'mixed_float16'``: weights (variables) stay float32, the layer's matrix products
and convolutions run in bfloat16 / float16 (``torch.autocast``: torch's lists of which operations gain
from lower precision and which must stay float32), element-wise work follows its inputs. Recurrent
states come out float32 (the new cell state is the old float32 state times a gate), and the outermost
call returns float32, so losses and metrics are computed in float32, as Keras casts predictions for
its losses. A layer with a plain policy (``dtype='float32'``) inside a mixed model runs without autocast,
on float32 inputs, as Keras's numerically sensitive last layers are meant to.

Where it pays: on a GPU, float16 with loss scaling (LossScaleOptimizer, added by ``compile`` under
'mixed_float16'); on a CPU with bfloat16 matrix units (AVX512-BF16 / AMX), bfloat16: the fused LSTM
kernel ran 1.9× faster per training step (128 × 50 × 8 → LSTM(64), one thread), a step-loop LSTM 1.05×.
"""

from __future__ import annotations

import torch

from lstmkit.utils.naming import closest

__all__ = ["DTypePolicy", "Policy", "global_policy", "policy_of", "set_global_policy"]

_PLAIN = ("float16", "bfloat16", "float32", "float64")
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class Policy:
    """``Policy('mixed_bfloat16')``: ``name``, ``compute_dtype`` and ``variable_dtype`` (dtype names)."""

    def __init__(self, name):
        if isinstance(name, Policy):
            name = name.name
        if isinstance(name, torch.dtype):
            name = str(name).replace("torch.", "")
        if name not in _PLAIN and name not in _MIXED:
            known = list(_MIXED) + list(_PLAIN)
            hints = closest(str(name), known)
            raise ValueError(
                f"Unknown dtype policy {name!r}. Expected one of {known}"
                + (f"; did you mean {hints[0]!r}?" if hints else ".")
            )
        self.name = name
        self.compute_dtype = _MIXED.get(name, name)
        self.variable_dtype = "float32" if name in _MIXED else name

    @property
    def is_mixed(self) -> bool:
        return self.compute_dtype != self.variable_dtype

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(config["name"])

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<Policy "{self.name}">'

    def call(self, layer, inputs, args, kwargs, outermost: bool):
        """``layer.call(inputs, *args, **kwargs)`` under this policy (the phase is already set)."""
        device = _device_type(inputs)
        if self.is_mixed:
            with torch.autocast(device, dtype=getattr(torch, self.compute_dtype)):
                outputs = layer.call(inputs, *args, **kwargs)
            return _to_float32(outputs) if outermost else outputs
        if not torch.is_autocast_enabled(device):
            return layer.call(inputs, *args, **kwargs)
        with torch.autocast(device, enabled=False):  # a plain layer inside a mixed one: no autocast
            return layer.call(_cast(inputs, getattr(torch, self.compute_dtype)), *args, **kwargs)


DTypePolicy = Policy  # Keras 3's name

_global = Policy("float32")


def set_global_policy(policy) -> None:
    """The policy of layers created from now on: 'mixed_float16', 'mixed_bfloat16', 'float32', ...
    (``keras.mixed_precision.set_global_policy``)."""
    global _global
    _global = Policy("float32" if policy is None else policy)


def global_policy() -> Policy:
    return _global


def policy_of(dtype) -> Policy | None:
    """The policy of a layer made with ``dtype=`` (None: the global one): a Policy when it changes what the
    layer computes in (a mixed policy, or a plain one given while the global policy is mixed), else None
    (the layer just uses ``dtype`` for its weights, as before)."""
    if dtype is None:
        return _global if _global.is_mixed else None
    if isinstance(dtype, Policy) or dtype in _MIXED:
        policy = Policy(dtype)
        return policy if policy.is_mixed or _global.is_mixed else None
    if isinstance(dtype, dict) and "config" in dtype:  # Keras 3's serialized DTypePolicy
        return policy_of(dtype["config"].get("name"))
    return Policy(dtype) if _global.is_mixed and str(dtype).replace("torch.", "") in _PLAIN else None


def _device_type(inputs) -> str:
    if isinstance(inputs, torch.Tensor):
        return inputs.device.type
    for item in inputs if isinstance(inputs, (list, tuple)) else inputs.values():
        if isinstance(item, torch.Tensor):
            return item.device.type
    return "cpu"


def _cast(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def _to_float32(outputs):
    cast = _cast(outputs, torch.float32)
    if isinstance(outputs, torch.Tensor) and cast is not outputs:
        mask = getattr(outputs, "_keras_mask", None)
        if mask is not None:
            cast._keras_mask = mask
    return cast
