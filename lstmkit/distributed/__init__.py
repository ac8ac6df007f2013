"""Data-parallel training on torch.distributed with the same ``fit`` call.

Launch the unchanged script with ``torchrun --nproc_per_node=N script.py``: ``fit``, ``evaluate`` and
``predict`` (``distributed='auto'``) then create the process group (gloo on the CPU, NCCL with one GPU
per process), start every process from rank 0's weights, give each process its share of every epoch,
sum the gradients every step, and report loss and metrics over all processes. Only rank 0 prints and
writes files. See docs/distributed.md; the modules: context.py (process group, failures), sharding.py
(who gets which samples), sync.py (weights, gradients, statistics, predictions).
"""

from lstmkit.distributed.context import (
    DistributedError,
    initialize,
    is_launched,
    local_rank,
    rank,
    run_for,
    world_size,
)

__all__ = ["DistributedError", "initialize", "is_launched", "local_rank", "rank", "run_for", "world_size"]
