"""The backward pass of a training step, without ``torch.autograd.backward``'s per-call argument handling.

For the tutorials' tiny models a step is a few hundred microseconds of fixed costs, and
``loss.backward()`` spends about 30 µs of them in Python (normalising arguments, building a gradient of
ones, checking shapes) before the engine runs. A scalar loss needs none of it: the engine is called
directly with a cached 1.0 of the loss's dtype and device. Anything unusual (a tensor subclass, an
engine without this entry point) takes the ordinary path.
"""

from __future__ import annotations

import torch

__all__ = ["backward"]

_ONES: dict = {}
_engine = getattr(torch.autograd.Variable, "_execution_engine", None)


def backward(loss: torch.Tensor) -> None:
    """``loss.backward()`` for a scalar float tensor that requires grad: gradients accumulate into ``.grad``."""
    if _engine is None or type(loss) is not torch.Tensor or loss.dim() != 0:
        loss.backward()
        return
    key = (loss.dtype, loss.device)
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = torch.ones((), dtype=loss.dtype, device=loss.device)
    # (tensors, grad_tensors, keep_graph, create_graph, inputs, allow_unreachable, accumulate_grad)
    _engine.run_backward((loss,), (one,), False, False, (), True, True)
