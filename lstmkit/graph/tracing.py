"""Output shapes found by running a layer, for layers that do not declare ``compute_output_shape``.

A custom layer that changes the shape (a ``Reshape`` written by hand, an attention layer that sums over
time) must not be assumed to keep its input shape. Its output shape is found by running it twice, in
inference mode and without gradients, on zero batches whose unknown sizes (the batch axis, a None
number of timesteps) are 2 and then 3: an output size that follows those is unknown (None), the others
are the layer's fixed sizes. Stateful layers neither pin their batch size nor carry states meanwhile.
"""

from __future__ import annotations

import torch

from lstmkit import backend
from lstmkit.layers.call_context import phase, tracing
from lstmkit.utils import tree
from lstmkit.utils.shapes import is_shape

__all__ = ["trace_output_shape"]


def _example(shape, fill: int, dtype, device):
    size = tuple(fill if d is None else d for d in shape)
    return torch.zeros(size, dtype=dtype, device=device)


def trace_output_shape(layer, input_shape):
    """``layer``'s output shape(s) for inputs of ``input_shape`` (a shape, or a list of shapes)."""
    param = next(layer.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = torch.int64 if getattr(layer, "input_dtype", "float") == "int" else backend.float_dtype()
    shapes = [input_shape] if is_shape(input_shape) else input_shape

    def run(fill):
        examples = [_example(s, fill, dtype, device) for s in shapes]
        with torch.no_grad(), tracing(), phase(False):
            out = layer(examples[0] if is_shape(input_shape) else list(examples))
        layer._losses = []  # losses added while tracing are not the model's
        return tree.map_structure(lambda t: tuple(t.shape) if isinstance(t, torch.Tensor) else t, out)

    try:
        first, second = run(2), run(3)
    except Exception as error:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) does not define compute_output_shape, so lstmkit ran it "
            f"on a zero batch of shape(s) {input_shape} to find its output shape, and that failed: "
            f"{type(error).__name__}: {error}. Define compute_output_shape(self, input_shape) on the layer, or fix "
            "its call() for these shapes."
        ) from error

    def merge(a, b):
        if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
            return tuple(x if x == y else None for x, y in zip(a, b))
        if isinstance(a, list):
            return [merge(x, y) for x, y in zip(a, b)]
        return a

    return merge(first, second)
