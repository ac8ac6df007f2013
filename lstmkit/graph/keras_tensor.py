"""KerasTensor: a symbolic tensor — a shape and a dtype, no values — that records where it came from.

``keras.Input((10, 3))`` returns one; calling a layer on KerasTensors returns KerasTensors whose
``_keras_history`` names the layer, the call (node) and the position among that call's outputs. A
graph model (``keras.Model(inputs, outputs)``) is read off these records. KerasTensors are not torch
tensors, so nothing computes on them by accident: asking for values raises an error that says what to
do instead.
"""

from __future__ import annotations

from typing import NamedTuple

from lstmkit.utils.naming import unique_name
from lstmkit.utils.shapes import format_shape

__all__ = ["KerasHistory", "KerasTensor", "any_symbolic", "symbolic_arguments"]


class KerasHistory(NamedTuple):
    """Where a KerasTensor was made: ``layer._inbound_nodes[node_index].outputs[tensor_index]``."""

    layer: object
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor of ``shape`` (batch axis first, usually None) and ``dtype`` (a string)."""

    def __init__(self, shape, dtype: str = "float32", name: str | None = None, sparse: bool = False):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(dtype).replace("torch.", "")
        self.name = name or unique_name("keras_tensor")
        self.sparse = bool(sparse)
        self._keras_history: KerasHistory | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={format_shape(self.shape)}, dtype={self.dtype}, name={self.name}>"

    # ---------------------------------------------------------------- no values here
    def _no_values(self, what: str):
        return TypeError(
            f"{self!r} is symbolic: it stands for the data a model will receive and has no values, so it "
            f"cannot be used {what}. Build a model from it (keras.Model(inputs, outputs)) and call "
            "model.predict(data) or model(data) on real arrays."
        )

    def __array__(self, dtype=None, copy=None):
        raise self._no_values("as an array")

    def numpy(self):
        raise self._no_values("with .numpy()")

    def __bool__(self):
        raise self._no_values("as a truth value (in an if or while)")

    def __iter__(self):
        raise self._no_values("in a loop or unpacking; index it instead, e.g. x[:, 0]")

    def __len__(self):
        raise self._no_values("with len(); use x.shape")

    def __float__(self):
        raise self._no_values("as a number")

    __int__ = __index__ = __float__

    # ---------------------------------------------------------------- operators become graph nodes
    def _op(self, name, *args):
        from lstmkit import ops

        return getattr(ops, name)(*args)

    def __add__(self, other):
        return self._op("add", self, other)

    def __radd__(self, other):
        return self._op("add", other, self)

    def __sub__(self, other):
        return self._op("subtract", self, other)

    def __rsub__(self, other):
        return self._op("subtract", other, self)

    def __mul__(self, other):
        return self._op("multiply", self, other)

    def __rmul__(self, other):
        return self._op("multiply", other, self)

    def __truediv__(self, other):
        return self._op("divide", self, other)

    def __rtruediv__(self, other):
        return self._op("divide", other, self)

    def __pow__(self, other):
        return self._op("power", self, other)

    def __rpow__(self, other):
        return self._op("power", other, self)

    def __matmul__(self, other):
        return self._op("matmul", self, other)

    def __rmatmul__(self, other):
        return self._op("matmul", other, self)

    def __neg__(self):
        return self._op("negative", self)

    def __abs__(self):
        return self._op("abs", self)

    def __getitem__(self, key):
        return self._op("get_item", self, key)

    def __lt__(self, other):
        return self._op("less", self, other)

    def __le__(self, other):
        return self._op("less_equal", self, other)

    def __gt__(self, other):
        return self._op("greater", self, other)

    def __ge__(self, other):
        return self._op("greater_equal", self, other)

    __hash__ = object.__hash__  # identity: KerasTensors are graph records, compared with `is`


def any_symbolic(structure) -> bool:
    """True if a KerasTensor is anywhere in ``structure`` (lists, tuples and dicts are searched)."""
    if isinstance(structure, KerasTensor):
        return True
    if isinstance(structure, (list, tuple)):
        return any(any_symbolic(item) for item in structure)
    if isinstance(structure, dict):
        return any(any_symbolic(item) for item in structure.values())
    return False


def symbolic_arguments(args, kwargs) -> bool:
    """Whether a call has symbolic tensors: ``any_symbolic`` on ``args`` and ``kwargs``, cheap for the common case
    of tensors and plain values (a layer's or an op's every call on data asks)."""
    for value in args:
        if isinstance(value, (KerasTensor, list, tuple, dict)) and any_symbolic(value):
            return True
    for value in kwargs.values():
        if isinstance(value, (KerasTensor, list, tuple, dict)) and any_symbolic(value):
            return True
    return False
