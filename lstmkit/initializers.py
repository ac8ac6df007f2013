"""Weight initializers with Keras 3's names, defaults and formulas.

An initializer is called as ``init(shape, dtype=None)`` with a shape in *Keras's* layout (a Dense
kernel is ``(input_dim, units)``, an LSTM kernel ``(input_dim, 4 * units)``) and returns a torch
tensor of that shape. Fans are computed from that layout, so a layer that stores the transposed
matrix for speed still gets Keras's scale. Without ``seed`` the values come from torch's global
generator (see ``lstmkit.utils.set_random_seed``); with one they are the same on every call.
"""

from __future__ import annotations

import math

import torch

from lstmkit import backend
from lstmkit.utils.custom_objects import all_custom_objects
from lstmkit.utils.naming import lookup

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "deserialize",
    "get",
    "serialize",
]


def compute_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a Keras-layout weight shape."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _dtype(dtype):
    if dtype is None:
        return backend.float_dtype()
    if isinstance(dtype, str):
        return getattr(torch, dtype)
    return dtype


class _Seeded(Initializer):
    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None. Received: seed={seed!r}")
        self.seed = seed

    def _generator(self):
        if self.seed is None:
            return None
        return torch.Generator().manual_seed(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return torch.full(tuple(shape), float(self.value), dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        out = torch.empty(tuple(shape), dtype=torch.float64)
        out.normal_(self.mean, self.stddev, generator=self._generator())
        return out.to(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        out = torch.empty(tuple(shape), dtype=torch.float64)
        out.uniform_(self.minval, self.maxval, generator=self._generator())
        return out.to(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def _truncated_normal(shape, mean, stddev, generator):
    """Normal samples redrawn until within two standard deviations (Keras's truncation)."""
    out = torch.empty(tuple(shape), dtype=torch.float64)
    out.normal_(0.0, 1.0, generator=generator)
    bad = out.abs() > 2.0
    while bool(bad.any()):
        redraw = torch.empty(int(bad.sum()), dtype=torch.float64).normal_(0.0, 1.0, generator=generator)
        out[bad] = redraw
        bad = out.abs() > 2.0
    return out * stddev + mean


class TruncatedNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _truncated_normal(shape, self.mean, self.stddev, self._generator()).to(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class VarianceScaling(_Seeded):
    """Samples with variance ``scale / n``, n the fan_in, fan_out or their average."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"scale must be positive. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"Unknown mode {mode!r}. Expected one of {self._MODES}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"Unknown distribution {distribution!r}. Expected one of {self._DISTRIBUTIONS}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        gen = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            out = torch.empty(tuple(shape), dtype=torch.float64).uniform_(-limit, limit, generator=gen)
        elif self.distribution == "untruncated_normal":
            out = torch.empty(tuple(shape), dtype=torch.float64).normal_(
                0.0, math.sqrt(variance), generator=gen
            )
        else:
            # 0.8796... is the stddev of a unit normal truncated at two stddevs.
            out = _truncated_normal(shape, 0.0, math.sqrt(variance) / 0.87962566103423978, gen)
        return out.to(_dtype(dtype))

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


class _Preset(VarianceScaling):
    """VarianceScaling with fixed settings; its config is only the seed."""

    _preset: tuple = ()

    def __init__(self, seed=None):
        super().__init__(*self._preset, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    """An orthogonal matrix over the 2-D flattening ``(prod(shape[:-1]), shape[-1])``, times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank 2 or more. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64)
        a.normal_(0.0, 1.0, generator=self._generator())
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))  # makes the decomposition unique
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).to(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape. Received: shape={tuple(shape)}")
        return self.gain * torch.eye(*shape, dtype=_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_CLASSES = {
    cls.__name__: cls
    for cls in (
        Zeros,
        Ones,
        Constant,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
        Orthogonal,
        Identity,
    )
}
_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "identity": Identity,
    # Keras's short aliases: RandomUniform(-0.05, 0.05) and RandomNormal(0, 0.05).
    "uniform": RandomUniform,
    "normal": RandomNormal,
    **_CLASSES,
}


def get(identifier) -> Initializer:
    """An initializer from a name ('glorot_uniform'), a class, an instance, a config dict or a callable."""
    if isinstance(identifier, str):
        return lookup("initializer", identifier, _BY_NAME)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret initializer {identifier!r}. Pass a name such as 'glorot_uniform', "
        "an initializer object such as Constant(0.5), or a callable (shape, dtype) -> tensor."
    )


def serialize(init) -> dict:
    return {"class_name": type(init).__name__, "config": init.get_config()}


def deserialize(config: dict, custom_objects=None) -> Initializer:
    name = config["class_name"]
    table = {**_CLASSES, **all_custom_objects(custom_objects)}
    return lookup("initializer", name, table).from_config(config.get("config", {}))
