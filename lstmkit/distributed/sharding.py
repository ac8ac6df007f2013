"""Each process's share of the data, epoch by epoch (W processes, this one is rank r).

Training on arrays
    The epoch's sample order (a permutation drawn from a ``torch.Generator`` seeded with ``seed + epoch``,
    where the seed is rank 0's, so that every process draws the same one without touching the global
    RNG; the identity without shuffling) is cut into steps of ``W × batch_size`` samples, and process r
    takes the r-th run of ``batch_size`` samples of each step: ``batch_size`` is the batch of one
    process. The last step may be shorter; its samples are spread over the processes as evenly as
    possible. Each process multiplies its loss by ``n_r / n_step`` before backward, so the summed
    gradient is the gradient of the mean loss over the whole step: the step one process takes with
    ``batch_size × W``. Padding, not dropping: a process that gets no sample of the last step (fewer
    samples than processes) computes a batch of one sample of the step with factor 0 that is not counted
    in the logs. So every process runs the same number of steps (no collective waits for a process that
    has finished) and every sample is used, and counted, once per epoch.
Training on a Sequence
    The same with batches for samples: step s gives process r batch ``order[s·W + r]``; a process left
    without one repeats a batch of the step with factor 0 (not logged). The real batches of a step weigh
    the same (1 / their number), as with DistributedDataParallel.
Generators and other iterables (a torch DataLoader)
    Are read in every process as they are: each process's iterable is its share (make it yield that
    process's part, e.g. by ``lstmkit.distributed.rank()``, or give a DataLoader a
    ``torch.utils.data.DistributedSampler``, whose ``set_epoch`` lstmkit calls every epoch). Training
    needs ``steps_per_epoch`` (or an iterable with ``len()``, which gives it) and stops with an error when
    an iterable runs out first, because all processes must take the same steps.
Evaluation and prediction
    The samples (a Sequence's batches) are cut into one contiguous block per process, in rank order, after
    ``steps`` has limited them; a process with an empty block computes one padding sample (not counted),
    so that every process resolves the same metrics. The blocks in rank order are the original order.
"""

from __future__ import annotations

import math
import warnings

import torch

from lstmkit.training.sources import ArraySource, BatchSource, IterableSource, SequenceSource
from lstmkit.training.structures import batch_size_of, take, to_device
from lstmkit.training.structures import first as first_leaf

__all__ = [
    "Shard",
    "ShardedArraySource",
    "ShardedSequenceSource",
    "contiguous_block",
    "describe_arrays",
    "refuse_stateful",
    "split_step",
]


def split_step(m: int, world: int, rank: int) -> tuple[int, int]:
    """(offset, count) of process ``rank``'s part of a step of ``m`` samples: sizes differ by at most 1."""
    base, extra = divmod(m, world)
    return rank * base + min(rank, extra), base + (rank < extra)


def contiguous_block(n: int, world: int, rank: int) -> tuple[int, int]:
    """[lo, hi) of process ``rank``'s block of ``n`` items, blocks in rank order."""
    return rank * n // world, (rank + 1) * n // world


def refuse_stateful(model, action: str) -> None:
    """Stateful layers cannot be sharded: their state links batch i to batch i + 1 of the same samples."""
    if any(getattr(m, "stateful", False) for m in model.modules()):
        raise ValueError(
            f"{action} under torchrun cannot split the data of a stateful model: its stateful layers carry each "
            "sample's state from one batch to the next, and data-parallel processes each see other batches (and "
            "would end with different states). Use stateful models in one process: run the script without "
            f"torchrun, or call {action}(..., distributed=False) (each process then computes everything alone)."
        )


def _generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed + epoch) % 2**63)


def describe_arrays(x, y) -> str:
    """Shapes and a few values, exactly as stored: equal on every process that was given the same data.
    x and y are tensors, or lists of them (several inputs/outputs)."""

    def sample(t):
        flat = t.reshape(-1)
        picks = torch.linspace(0, flat.numel() - 1, 8).long().to(flat.device)
        return flat[picks].tolist()

    def describe(name, value):
        leaves = value if isinstance(value, list) else [value]
        return ", ".join(
            f"{name}{'' if len(leaves) == 1 else f'[{i}]'} of shape {tuple(t.shape)} with values {sample(t)}"
            for i, t in enumerate(leaves)
            if t is not None
        )

    text = describe("x", x) + " at 8 places"
    if y is not None:
        text += ", " + describe("y", y)
    return text


class ShardedArraySource(BatchSource):
    """Training batches of this process from arrays on the device (see the module doc)."""

    def __init__(self, x, y, weights, batch_size: int, shuffle, steps: int | None, rank: int, world: int):
        self.x, self.y, self.weights = x, y, weights  # tensors, or lists of them
        self.n, self.batch_size, self.shuffle = batch_size_of(x), batch_size, shuffle
        self.rank, self.world = rank, world
        self.step_size = batch_size * world
        available = math.ceil(self.n / self.step_size)
        if steps is not None and steps > available:
            raise ValueError(
                f"steps_per_epoch={steps} asks for more steps than the data holds: {self.n} samples make "
                f"{available} steps of {world} processes x batch_size {batch_size}. Use at most {available} "
                "steps, or leave steps_per_epoch out."
            )
        self.steps = available if steps is None else steps
        self.seed = 0
        self.facts = describe_arrays(x, y)
        self._shares: list[tuple[float, int]] = []

    def batches(self, epoch: int):
        generator = _generator(self.seed, epoch)
        order = None
        if self.shuffle is True and self.n > 1:
            order = torch.randperm(self.n, generator=generator).to(first_leaf(self.x).device)
        starts = list(range(0, self.n, self.step_size))[: self.steps]
        if self.shuffle == "batch":
            starts = [starts[i] for i in torch.randperm(len(starts), generator=generator).tolist()]
        self._shares = []
        for start in starts:
            m = min(self.step_size, self.n - start)
            offset, count = split_step(m, self.world, self.rank)
            first = start + offset if count else start  # padding: the step's first sample, factor 0
            rows = slice(first, first + max(count, 1))
            self._shares.append((count / m, count))
            if order is not None:
                rows = order[rows]
            yield take(self.x, rows), take(self.y, rows), take(self.weights, rows)

    def share(self, index: int, n: int) -> tuple[float, int]:
        return self._shares[index]


class _BlockArraySource(ArraySource):
    """Evaluation/prediction batches of this process's contiguous block (or one padding sample)."""

    def __init__(self, x, y, weights, batch_size: int, padding: bool, facts: str):
        super().__init__(x, y, weights, batch_size)
        self.padding, self.facts = padding, facts

    def share(self, index: int, n: int) -> tuple[float, int]:
        return 1.0, 0 if self.padding else n


class ShardedSequenceSource(SequenceSource):
    """A Sequence's batches for this process: one per step in training, a contiguous block otherwise."""

    def __init__(self, sequence, loader, shuffle, steps: int | None, rank: int, world: int, training: bool):
        super().__init__(sequence, loader, shuffle, None)
        self.rank, self.world, self.training = rank, world, training
        length = len(sequence)
        if training:
            available = math.ceil(length / world)
            if steps is not None and steps > available:
                warnings.warn(
                    f"steps_per_epoch={steps} is more than the {available} steps that {loader.what} "
                    f"({length} batches over {world} processes) holds; using {available}.",
                    UserWarning,
                    stacklevel=5,
                )
            self.used = length if steps is None else min(steps * world, length)
            self.steps = math.ceil(self.used / world)
        else:
            self.used = length if steps is None else min(steps, length)
            lo, hi = contiguous_block(self.used, world, rank)
            self.padding = hi == lo
            self.block = list(range(lo, hi)) or [0]
            self.steps = len(self.block)
        self.seed = 0
        self.facts = f"a Sequence of {length} batches"
        self._shares: list[tuple[float, int | None]] = []

    def batch_order(self, epoch: int) -> list[int]:
        if not self.training:
            return self.block
        order = list(range(self.used))
        if self.shuffle is True:
            order = [
                order[i] for i in torch.randperm(len(order), generator=_generator(self.seed, epoch)).tolist()
            ]
        mine, self._shares = [], []
        for step in range(self.steps):
            first = step * self.world
            real = min(self.world, self.used - first)
            if self.rank < real:
                mine.append(order[first + self.rank])
                self._shares.append((1.0 / real, None))
            else:
                mine.append(order[first])
                self._shares.append((0.0, 0))
        return mine

    def share(self, index: int, n: int) -> tuple[float, int]:
        if not self.training:
            return 1.0, 0 if self.padding else n
        factor, counted = self._shares[index]
        return factor, n if counted is None else counted


class _PerProcessIterableSource(IterableSource):
    """A generator or DataLoader read as it is in each process: each process's iterable is its share."""

    def __init__(
        self,
        iterable,
        loader,
        steps,
        workers,
        max_queue_size,
        rank: int,
        world: int,
        training: bool,
        per_pass: bool = False,
    ):
        super().__init__(iterable, loader, steps, workers=workers, max_queue_size=max_queue_size)
        self.rank, self.world, self.training = rank, world, training
        self.per_pass = per_pass  # steps = len(iterable): start a new pass every epoch
        self.seed = 0
        self.facts = (
            f"an iterable of batches, {steps} steps per epoch" if training else "an iterable of batches"
        )

    def batches(self, epoch: int):
        sampler = getattr(self.iterable, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # a DistributedSampler: a new shuffle of its share every epoch
            sampler.set_epoch(epoch)
        if self.per_pass:
            self._iterator = None
        produced = 0
        for batch in super().batches(epoch):
            produced += 1
            yield batch
        if self.training and produced < self.steps:
            raise ValueError(
                f"{self.loader.what} ran out of data on rank {self.rank} after {produced} of this epoch's "
                f"{self.steps} steps. Under torchrun every process takes the same number of steps, so each "
                "process's generator must give steps_per_epoch batches per epoch (loop forever: while True: "
                "... yield x, y)."
            )

    def share(self, index: int, n: int) -> tuple[float, int]:
        return (1.0 / self.world if self.training else 1.0), n


class Shard:
    """Makes the sources of process ``rank`` of ``world`` for training (``training=True``) or for
    evaluation/prediction."""

    def __init__(self, rank: int, world: int, training: bool):
        self.rank, self.world, self.training = rank, world, training

    def arrays(self, x, y, weights, device, batch_size: int, shuffle=False, steps: int | None = None):
        """Sources of prepared tensors (on the CPU or where they came from); ``device`` is where batches go."""
        if self.training:
            x, y, weights = (to_device(t, device) for t in (x, y, weights))
            return ShardedArraySource(x, y, weights, batch_size, shuffle, steps, self.rank, self.world)
        n = batch_size_of(x)
        available = math.ceil(n / batch_size)
        if steps is not None and steps > available:
            raise ValueError(
                f"steps={steps} asks for more batches than the data holds: {n} samples make {available} batches "
                f"of {batch_size}. Use at most {available} steps, or leave steps out."
            )
        used = n if steps is None else min(n, steps * batch_size)
        lo, hi = contiguous_block(used, self.world, self.rank)
        padding = hi == lo
        rows = slice(0, 1) if padding else slice(lo, hi)
        facts = describe_arrays(x, y)
        x, y, weights = (to_device(take(t, rows), device) for t in (x, y, weights))
        return _BlockArraySource(x, y, weights, batch_size, padding, facts)

    def sequence(self, sequence, loader, shuffle=False, steps: int | None = None):
        return ShardedSequenceSource(sequence, loader, shuffle, steps, self.rank, self.world, self.training)

    def iterable(self, iterable, loader, steps: int | None, workers: int, max_queue_size: int):
        per_pass = (
            self.training
            and steps is None
            and hasattr(iterable, "__len__")
            and not hasattr(iterable, "__next__")
        )
        if per_pass:
            steps = len(iterable)  # a DataLoader: one pass per epoch (the agreement checks it is the same)
        if self.training and steps is None:
            raise ValueError(
                f"{loader.what} is a generator, and under torchrun each process reads its own: training needs "
                "steps_per_epoch=... so that every process takes the same number of steps. Pass it, or pass a "
                "Sequence/PyDataset (lstmkit then gives each process its share of the batches)."
            )
        return _PerProcessIterableSource(
            iterable, loader, steps, workers, max_queue_size, self.rank, self.world, self.training, per_pass
        )
