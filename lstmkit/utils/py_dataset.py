"""``PyDataset`` (Keras 3) and its Keras 2 name ``Sequence``: a dataset that hands out whole batches by index.

A subclass implements ``__len__`` (the number of batches) and ``__getitem__(index)`` returning one batch:
``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, each a NumPy array (or anything ``fit`` takes
as an array) whose first axis is the batch. ``on_epoch_begin``/``on_epoch_end`` run around every epoch,
e.g. to reshuffle.

As in Keras 3, ``Sequence`` is the same class as ``PyDataset``, so ``class Gen(Sequence)`` (Keras 2) and
``class Gen(PyDataset)`` (Keras 3) both work, with or without ``super().__init__(**kwargs)``.
"""

from __future__ import annotations

import itertools

from lstmkit.utils.checks import check_int

__all__ = ["PyDataset", "Sequence", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]


class PyDataset:
    """Base class of datasets that produce one batch per index.

    Args:
        workers: how many threads (or processes) ``fit`` may use to load batches ahead of use; an int >= 0.
        use_multiprocessing: load batches in worker processes instead of threads (the dataset must then be
            picklable, or the platform able to fork).
        max_queue_size: how many loaded batches may wait ahead of the training step.

    The three are stored and readable as attributes; the dataset itself never uses them, only the loop
    that consumes it. As in Keras, batches are loaded in parallel only when ``workers > 1``, or
    ``workers >= 1`` with ``use_multiprocessing=True``; otherwise one after another in the training process.
    Iterating a dataset yourself (``for x, y in ds``) is always sequential.

    Subclasses implement:
        ``__len__()``: the number of batches per epoch.
        ``__getitem__(index)``: batch ``index`` (0 <= index < len), as ``(x, y)``, ``(x, y, sample_weight)``
            or ``x`` alone (for ``predict``); shapes ``(batch, ...)``.
        ``on_epoch_end()`` (optional): called after every epoch, e.g. to reshuffle.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = check_int(workers, "workers", 0, owner=type(self).__name__)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = check_int(max_queue_size, "max_queue_size", 0, owner=type(self).__name__)

    # Subclasses that skip super().__init__() (common in Keras 2 code) still get the defaults.
    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = check_int(value, "workers", 0, owner=type(self).__name__)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = bool(value)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = check_int(value, "max_queue_size", 0, owner=type(self).__name__)

    def __len__(self) -> int:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__(self), returning the number of batches per epoch "
            "(e.g. math.ceil(len(self.x) / self.batch_size))."
        )

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(self, index), returning batch number `index` as "
            "(x, y) or (x, y, sample_weight)."
        )

    @property
    def num_batches(self):
        """The number of batches per epoch (``len(self)``)."""
        return len(self)

    def __iter__(self):
        """Batches ``self[0]``, ``self[1]``, ..., ``self[len(self) - 1]`` (no epoch callbacks are run)."""
        try:
            indices = range(len(self))
        except NotImplementedError:
            if type(self).__getitem__ is PyDataset.__getitem__:
                raise
            indices = itertools.count()  # an endless dataset: no __len__, only __getitem__
        for index in indices:
            yield self[index]

    def on_epoch_begin(self):
        """Called at the start of every epoch (does nothing unless overridden)."""

    def on_epoch_end(self):
        """Called at the end of every epoch (does nothing unless overridden)."""


Sequence = PyDataset  # Keras 2's keras.utils.Sequence; Keras 3 exports the same class under both names.


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch given as ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (missing parts are None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        f"A batch must be x, (x,), (x, y) or (x, y, sample_weight); received a tuple of {len(data)} items. "
        "If x itself has several parts, stack them into one array."
    )


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The shortest batch for the given parts: ``x`` (``(x,)`` when x is itself a tuple or list), ``(x, y)``
    or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
