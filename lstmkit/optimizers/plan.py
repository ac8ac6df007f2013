"""How an optimizer lays out the parameters it updates.

On the CPU the parameters of one dtype are gathered into one flat buffer (each parameter becomes a view
of it), and so are their gradients and optimizer slots: an update is then a handful of operations on
one tensor instead of a loop over many small ones, which is what dominates the small models tutorials
train. On a GPU, where torch's multi-tensor kernels already batch the work (and cuDNN keeps recurrent
weights in its own buffer), the parameters stay as they are.
"""

from __future__ import annotations

import torch

__all__ = ["ParamGroup"]


class ParamGroup:
    """Parameters of one device and dtype, with their gradients and slots as the update sees them."""

    def __init__(self, optimizer, params: list[torch.nn.Parameter]):
        self.params = params
        self.flat = params[0].device.type == "cpu" and len(params) > 1
        if not self.flat:
            self.tensors = params
            self.flat_grad = None
            self.slots = {name: [optimizer._slot(p, name) for p in params] for name in optimizer._slots}
            return
        sizes = [p.numel() for p in params]
        with torch.no_grad():
            flat_param = torch.cat([p.detach().reshape(-1) for p in params])
            for p, piece in zip(params, flat_param.split(sizes)):
                p.data = piece.view_as(p)
            self.slots = {}
            for name in optimizer._slots:
                flat_slot = torch.cat([optimizer._slot(p, name).reshape(-1) for p in params])
                for p, piece in zip(params, flat_slot.split(sizes)):
                    optimizer.state[p][name] = piece.view_as(p)
                self.slots[name] = [flat_slot]
        self.tensors = [flat_param]
        self.flat_grad = torch.zeros_like(flat_param)
        self.grad_views = [g.view_as(p) for g, p in zip(self.flat_grad.split(sizes), params)]

    def zero_grad(self) -> None:
        """Before a backward pass: gradients accumulate into the flat buffer (or start from None)."""
        if self.flat_grad is None:
            for p in self.params:
                p.grad = None
            return
        self.flat_grad.zero_()
        for p, view in zip(self.params, self.grad_views):
            if p.grad is not view:
                p.grad = view

    def grads(self) -> list[torch.Tensor]:
        if self.flat_grad is None:
            return [p.grad for p in self.params]
        if all(p.grad is view for p, view in zip(self.params, self.grad_views)):
            return [self.flat_grad]
        # Gradients were set from outside (apply_gradients): gather them into the flat layout.
        return [
            torch.cat(
                [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self.params]
            )
        ]
