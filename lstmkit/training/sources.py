"""Where batches come from: arrays (cut by index on the device), a Sequence/PyDataset (batch by index),
or a Python generator/iterable of ``(x, y[, sample_weight])`` batches.

Every source yields ``(x, y, sample_weight)`` tensors on the device, one batch at a time, and knows its
number of steps per epoch when that can be known. Batches from a Sequence or a generator are validated
like arrays (finite, numeric, shapes that agree with the first batch) and can be loaded ahead of use by
worker threads or processes (``workers``, ``use_multiprocessing``, ``max_queue_size``).
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import torch

from lstmkit.training.data import to_tensor
from lstmkit.training.structures import batch_size_of, take, to_device
from lstmkit.training.structures import first as first_leaf

__all__ = ["ArraySource", "BatchLoader", "BatchSource", "IterableSource", "SequenceSource", "is_batch_source"]


def is_batch_source(data) -> bool:
    """True for a Sequence/PyDataset or a generator/iterable of batches (anything but array-like data)."""
    if data is None or isinstance(data, (np.ndarray, torch.Tensor, list, tuple, dict, str, bytes)):
        return False
    if hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas
        return False
    return (hasattr(data, "__getitem__") and hasattr(data, "__len__")) or hasattr(data, "__iter__")


class BatchSource:
    """Base: ``steps`` (or None when unknown) and ``batches(epoch)`` yielding device tensors."""

    steps: int | None = None

    def batches(self, epoch: int):
        raise NotImplementedError

    def end_epoch(self) -> None:
        """Called after every epoch (a Sequence's ``on_epoch_end``)."""

    def share(self, index: int, n: int) -> tuple[float, int]:
        """(factor on the gradient, samples that count in the logs) of batch ``index`` of ``n`` samples.
        Only sources sharded across processes (lstmkit/distributed/sharding.py) differ from (1.0, n)."""
        return 1.0, n


class ArraySource(BatchSource):
    """Arrays already on the device; batches are index ranges (a random permutation when shuffling)."""

    def __init__(self, x, y, weights, batch_size: int, shuffle=False, steps: int | None = None):
        self.x, self.y, self.weights = x, y, weights  # tensors, or lists of them (several inputs/outputs)
        self.n, self.batch_size, self.shuffle = batch_size_of(x), batch_size, shuffle
        available = math.ceil(self.n / batch_size)
        if steps is not None and steps > available:
            raise ValueError(
                f"steps={steps} asks for more batches than the data holds: {self.n} samples make {available} batches "
                f"of {batch_size}. Use at most {available} steps, or leave steps out."
            )
        self.steps = available if steps is None else steps

    def batches(self, epoch: int):
        # With one batch per epoch the order inside it cannot change the (mean) loss: skip the shuffle.
        order = None
        if self.shuffle is True and self.steps > 1:
            order = torch.randperm(self.n, device=first_leaf(self.x).device)
        starts = list(range(0, self.n, self.batch_size))[: self.steps]
        if self.shuffle == "batch":
            starts = [starts[i] for i in torch.randperm(len(starts)).tolist()]
        for start in starts:
            if order is None and start == 0 and self.batch_size >= self.n:
                yield self.x, self.y, self.weights  # the whole data is the batch: no indexing to do
                continue
            rows = slice(start, min(start + self.batch_size, self.n))
            if order is not None:
                rows = order[rows]
            yield take(self.x, rows), take(self.y, rows), take(self.weights, rows)


def _split_batch(batch, what: str):
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) in (2, 3):
            return batch[0], batch[1], batch[2] if len(batch) == 3 else None
        raise ValueError(
            f"{what} gave a batch of {len(batch)} items; expected x, (x, y) or (x, y, sample_weight)."
        )
    return batch, None, None  # x alone (a dict is the inputs of a graph model, by name)


class BatchLoader:
    """Turns raw batches into validated device tensors.

    ``prepare(x, y, w, first, where)`` runs on every batch (on the CPU): it converts the raw batch (x one
    array or a structure per input, y per output) into tensors fitted to the model; with ``first=True`` it
    may build the model and check the targets. Without ``prepare`` the batch is converted as one array each.
    """

    def __init__(self, device, what: str, prepare=None):
        self.device, self.what = device, what
        self.prepare = prepare
        self.shapes = None

    def __call__(self, batch, index: int):
        x, y, w = _split_batch(batch, self.what)
        where = f"{self.what}, batch {index}"
        first = self.shapes is None
        if self.prepare is not None:
            x, y, w = self.prepare(x, y, w, first, where)
        else:
            x = to_tensor(x, f"x ({where})")
            y = None if y is None else to_tensor(y, f"y ({where})")
            w = None if w is None else to_tensor(w, f"sample_weight ({where})")
        shape = [tuple(t.shape[1:]) for t in (x if isinstance(x, list) else [x])]
        if self.shapes is not None:
            for got, had in zip(shape, self.shapes):
                if (got[-1:], len(got)) != (had[-1:], len(had)):
                    raise ValueError(
                        f"{where}: x has per-sample shape {got}, but the first batch had {had}. Every batch "
                        "needs the same number of features (timesteps may differ)."
                    )
        self.shapes = self.shapes or shape
        return to_device(x, self.device), to_device(y, self.device), to_device(w, self.device)


def _prefetch(items, workers: int, max_queue_size: int):
    """Yield ``items`` (callables producing batches) in order, computing up to ``max_queue_size`` ahead
    in ``workers`` threads; with no workers they run one by one in the caller's thread."""
    if workers <= 0:
        for make in items:
            yield make()
        return
    pending: queue.Queue = queue.Queue(maxsize=max(1, max_queue_size))
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers)

    def feed():
        try:
            for make in items:
                if stop.is_set():
                    break
                pending.put(pool.submit(make))
        finally:
            pending.put(None)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        while (future := pending.get()) is not None:
            yield future.result()
    finally:
        stop.set()
        while not pending.empty():
            pending.get_nowait()
        pool.shutdown(wait=False, cancel_futures=True)


def _background(iterator, max_queue_size: int):
    """Read ``iterator`` ahead in a daemon thread, keeping up to ``max_queue_size`` items ready."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, max_queue_size))
    done = object()

    def read():
        try:
            for item in iterator:
                ready.put((item, None))
        except BaseException as error:  # noqa: BLE001 - handed to the training thread and raised there
            ready.put((None, error))
        ready.put((done, None))

    threading.Thread(target=read, daemon=True).start()
    while True:
        item, error = ready.get()
        if error is not None:
            raise error
        if item is done:
            return
        yield item


_PROCESS_DATASET = None


def _process_init(dataset):
    global _PROCESS_DATASET
    _PROCESS_DATASET = dataset


def _process_get(index):
    return _PROCESS_DATASET[index]


class SequenceSource(BatchSource):
    """A Sequence/PyDataset (``__len__`` batches, ``__getitem__(i)`` -> batch i), e.g. a TimeseriesGenerator."""

    def __init__(self, sequence, loader: BatchLoader, shuffle=False, steps: int | None = None):
        self.sequence, self.loader, self.shuffle = sequence, loader, shuffle
        available = len(sequence)
        if available == 0:
            raise ValueError(f"{loader.what} has no batches (len() is 0); check its length/batch settings.")
        self.steps = available if steps is None else min(steps, available) if steps > 0 else available
        if steps is not None and steps > available:
            warnings.warn(
                f"steps={steps} is more than the {available} batches {loader.what} holds; using {available}.",
                UserWarning,
                stacklevel=4,
            )
        # Keras 3's rule: batches load in parallel only with workers > 1, or workers >= 1 in processes.
        workers = getattr(sequence, "workers", 0) or 0
        self.processes = bool(getattr(sequence, "use_multiprocessing", False)) and workers > 0
        self.workers = workers if workers > 1 or self.processes else 0
        self.max_queue_size = getattr(sequence, "max_queue_size", 10)

    def batch_order(self, epoch: int) -> list[int]:
        """The indices of the batches this epoch reads, in reading order."""
        order = list(range(len(self.sequence)))[: self.steps]
        if self.shuffle is True:  # the order of the batches, as Keras 2's fit_generator did for Sequences
            order = [order[i] for i in torch.randperm(len(order)).tolist()]
        return order

    def batches(self, epoch: int):
        order = self.batch_order(epoch)
        if self.processes:
            context = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            )
            with ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_process_init, initargs=(self.sequence,)
            ) as pool:
                for step, raw in enumerate(pool.map(_process_get, order, chunksize=1)):
                    yield self.loader(raw, step)
            return
        makers = [lambda i=i: self.sequence[i] for i in order]
        for step, raw in enumerate(_prefetch(makers, self.workers, self.max_queue_size)):
            yield self.loader(raw, step)

    def end_epoch(self):
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()


class IterableSource(BatchSource):
    """A generator or iterable of batches. An epoch is ``steps`` batches, or one pass when steps is None."""

    def __init__(
        self, iterable, loader: BatchLoader, steps: int | None = None, workers: int = 0, max_queue_size=10
    ):
        self.iterable, self.loader, self.steps = iterable, loader, steps
        self.workers, self.max_queue_size = workers, max_queue_size
        self.exhausted = False
        self._iterator = None
        self._restartable = not hasattr(iterable, "__next__")  # a list or a DataLoader can be iterated again

    def batches(self, epoch: int):
        if self._iterator is None or (self.steps is None and self._restartable):
            # A generator is read by one background thread (it cannot be shared between threads).
            self._iterator = (
                _background(iter(self.iterable), self.max_queue_size) if self.workers else iter(self.iterable)
            )
        produced = 0
        while self.steps is None or produced < self.steps:
            try:
                raw = next(self._iterator)
            except StopIteration:
                if self.steps is not None or produced == 0:
                    self.exhausted = True
                    warnings.warn(
                        f"{self.loader.what} ran out of data after {produced} batch(es) in this epoch. A generator "
                        "that should last for several epochs must loop forever (while True: ... yield x, y) and be "
                        "given steps_per_epoch=...; training stops here.",
                        UserWarning,
                        stacklevel=4,
                    )
                return
            yield self.loader(raw, produced)
            produced += 1
