"""predict's batch loop: run the model on every batch and gather the outputs into NumPy arrays.

With a known number of samples each output goes into one preallocated buffer (memory: the outputs plus
one batch); otherwise (generators, or this process's share under torchrun) the batches are concatenated,
and under torchrun every process's rows are gathered in rank order. The result has the model's output
structure: an array, a list of arrays, or a dict of arrays (a graph model built with a dict of outputs).
"""

from __future__ import annotations

import torch

from lstmkit import backend
from lstmkit.distributed.sync import broadcast_model, gather_rows
from lstmkit.utils import tree

__all__ = ["collect_predictions"]


def _to_model(xb, device):
    """A CPU batch (float inputs possibly float64) as the model's dtype on ``device``."""
    if isinstance(xb, list):
        return [_to_model(t, device) for t in xb]
    dtype = backend.float_dtype() if xb.is_floating_point() else xb.dtype
    return xb.to(device=device, dtype=dtype, non_blocking=True)


def collect_predictions(model, source, device, n, run, callbacks, forward=None):
    """The outputs for every batch of ``source`` (``n`` samples, or None when unknown), as NumPy arrays.
    ``forward``: the forward pass to run (a compiled one), by default the model itself."""
    forward = forward or model
    buffers, pieces, filled, structure = None, None, 0, None
    for index, (xb, _, _) in enumerate(source.batches(0)):
        if run is not None and index == 0:  # rank 0's weights, before the first batch
            broadcast_model(run, model)
        pred = forward(_to_model(xb, device), training=False)
        if structure is None:
            structure = pred
        flat = tree.flatten(pred)
        if n is None:
            if run is not None and not source.share(index, flat[0].shape[0])[1]:
                flat = [p[:0] for p in flat]  # a padding sample: keeps the outputs' trailing shapes only
            pieces = [[] for _ in flat] if pieces is None else pieces
            for store, p in zip(pieces, flat):
                store.append(p)
        else:  # filled batch by batch
            if buffers is None:
                buffers = [torch.empty((n, *p.shape[1:]), dtype=p.dtype, device=device) for p in flat]
            for buffer, p in zip(buffers, flat):
                buffer[filled : filled + p.shape[0]] = p
            filled += flat[0].shape[0]
        callbacks.call("on_predict_batch_end", index, None)
    source.end_epoch()
    if n is None:
        outputs = [torch.cat(store) for store in pieces]
        if run is not None:  # every process's rows in rank order: the original order, on every process
            outputs = [gather_rows(run, o) for o in outputs]
    else:
        outputs = buffers if filled >= n else [b[:filled] for b in buffers]  # steps= stopped early
    arrays = [o.cpu().numpy() for o in outputs]
    return _packed(model, structure, arrays)


def _packed(model, structure, arrays):
    """The arrays in the structure the model returns (a graph model's own output structure)."""
    own = getattr(model, "_output_structure", None)
    if own is not None:
        return tree.pack_like(own, arrays)
    if isinstance(structure, (list, tuple, dict)):
        return tree.pack_like(structure, arrays)
    return arrays[0]
