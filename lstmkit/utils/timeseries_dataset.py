"""``timeseries_dataset_from_array`` (Keras 3): batches of sliding windows over an array, as NumPy arrays."""

from __future__ import annotations

import math

import numpy as np

from lstmkit.utils.checks import as_rows, check_int, is_int
from lstmkit.utils.py_dataset import PyDataset

__all__ = ["TimeseriesDataset", "timeseries_dataset_from_array"]

_OWNER = "timeseries_dataset_from_array"


class TimeseriesDataset(PyDataset):
    """What ``timeseries_dataset_from_array`` returns: a ``PyDataset`` of window batches.

    Window ``k`` starts at row ``s_k = start_index + p_k`` (``p_k = k * sequence_stride``) and is
    ``data[s_k : s_k + sequence_length * sampling_rate : sampling_rate]``; its target is ``targets[s_k]``.

    ``ds[i]`` is ``(x, y)`` with x of shape ``(batch, sequence_length) + data.shape[1:]`` and y of shape
    ``(batch,) + targets.shape[1:]``, or x alone when there are no targets. With ``batch_size=None`` each item
    is one window, without the batch axis. Iterating (``for x, y in ds``) goes through all batches once.

    With ``shuffle=True`` the window order is a permutation drawn by ``np.random.RandomState(seed)`` (the
    order Keras starts from; Keras then also shuffles within a buffer of ``8 * batch_size`` windows, which
    this does not copy). A new permutation from the same generator is drawn after each full iteration and
    at ``on_epoch_end()``, so every epoch sees a new order, reproducibly for a given ``seed``.
    """

    def __init__(
        self, data, targets, positions, start_index, sequence_length, sampling_rate, batch_size, shuffle, seed
    ):
        super().__init__()
        self.data, self.targets = data, targets
        self.start_index, self.sequence_length = start_index, sequence_length
        self.sampling_rate, self.batch_size = sampling_rate, batch_size
        self.shuffle, self.seed = shuffle, seed
        self.positions = positions  # window starts relative to start_index, in the current order
        self._rng = None
        if shuffle:
            self._rng = np.random.RandomState(seed)
            self._rng.shuffle(self.positions)
        self._offsets = np.arange(sequence_length) * sampling_rate

    @property
    def num_windows(self) -> int:
        return len(self.positions)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.positions)
        return math.ceil(len(self.positions) / self.batch_size)

    def __getitem__(self, index):
        n = len(self)
        if not is_int(index):
            raise TypeError(f"{_OWNER}: batches are indexed by integers; received {index!r}.")
        if not -n <= index < n:
            raise IndexError(f"{_OWNER}: the dataset has {n} batches (0..{n - 1}); received index {index}.")
        index = int(index) % n
        if self.batch_size is None:
            starts = self.start_index + self.positions[index]
            x = self.data[starts + self._offsets]
            return x if self.targets is None else (x, self.targets[starts])
        starts = self.start_index + self.positions[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.data[starts[:, None] + self._offsets]
        return x if self.targets is None else (x, self.targets[starts])

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()  # like a tf.data shuffle, the next pass over the dataset gets a new order

    def on_epoch_end(self):
        if self._rng is not None:
            self._rng.shuffle(self.positions)

    # ------------------------------------------------------------------ tf.data's methods that tutorials call
    def _view(self, positions, batch_size):
        """A dataset over some of these windows, in their current order (not reshuffled)."""
        return TimeseriesDataset(
            self.data,
            self.targets,
            np.array(positions),
            self.start_index,
            self.sequence_length,
            self.sampling_rate,
            batch_size,
            False,
            self.seed,
        )

    def _windows_of(self, batches: int) -> int:
        return batches if self.batch_size is None else batches * self.batch_size

    def take(self, count):
        """The first ``count`` batches (all of them for ``count=-1``), e.g. ``for x, y in ds.take(1)``."""
        count = check_int(count, "count", minimum=-1, owner="take")
        return self if count == -1 else self._view(self.positions[: self._windows_of(count)], self.batch_size)

    def skip(self, count):
        """Every batch after the first ``count``."""
        count = check_int(count, "count", minimum=0, owner="skip")
        return self._view(self.positions[self._windows_of(count) :], self.batch_size)

    def unbatch(self):
        """One window per item, without the batch axis."""
        return self._view(self.positions, None)

    def batch(self, batch_size):
        """The windows in batches of ``batch_size`` (of an unbatched dataset)."""
        return self._view(self.positions, check_int(batch_size, "batch_size", minimum=1, owner="batch"))

    def as_numpy_iterator(self):
        """Iterate the items (already NumPy arrays here)."""
        return iter(self)

    def cardinality(self):
        """The number of batches (an int, with ``.numpy()`` as tf.data's result has)."""
        return _Count(len(self))


class _Count(int):
    """An int that also answers ``.numpy()``, as ``tf.data.Dataset.cardinality()``'s tensor does."""

    def numpy(self):
        return int(self)


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """Batches of sliding windows over ``data`` (Keras 3's ``keras.utils.timeseries_dataset_from_array``).

    Args:
        data: array-like of shape ``(timesteps, ...)``: list, NumPy array, DataFrame.
        targets: array-like; ``targets[i]`` is the target of the window starting at row ``i``. None for no
            targets (the batches are then x alone). It may be shorter than ``data``: windows stop where the
            targets do. To predict the step after each window, pass ``targets=data[sequence_length:]``.
        sequence_length: steps per window.
        sequence_stride: rows between the starts of two consecutive windows.
        sampling_rate: keep every ``sampling_rate``-th row inside a window (a window spans
            ``(sequence_length - 1) * sampling_rate + 1`` rows).
        batch_size: windows per batch (the last batch may be smaller); None for single windows.
        shuffle: shuffle the windows (see ``TimeseriesDataset``).
        seed: seed of the shuffle; None draws one from NumPy's global generator.
        start_index, end_index: use only ``data[start_index:end_index]`` (end exclusive).

    Returns:
        A ``TimeseriesDataset`` (a ``PyDataset``) yielding ``(x, y)`` NumPy batches: x of shape
        ``(batch, sequence_length) + data.shape[1:]``, y of shape ``(batch,) + targets.shape[1:]``.
    """
    data = as_rows(data, "data", _OWNER)
    if targets is not None:
        targets = as_rows(targets, "targets", _OWNER)
    sequence_length = check_int(sequence_length, "sequence_length", 1, owner=_OWNER)
    sequence_stride = check_int(sequence_stride, "sequence_stride", 1, owner=_OWNER)
    sampling_rate = check_int(sampling_rate, "sampling_rate", 1, owner=_OWNER)
    batch_size = check_int(batch_size, "batch_size", 1, allow_none=True, owner=_OWNER)
    seed = check_int(seed, "seed", 0, allow_none=True, owner=_OWNER)
    n = len(data)
    start = check_int(start_index, "start_index", 0, allow_none=True, owner=_OWNER) or 0
    if start >= n:
        raise ValueError(
            f"{_OWNER}: start_index must be lower than the length of the data. Received: start_index={start}, "
            f"for data of length {n}."
        )
    stop = n if end_index is None else check_int(end_index, "end_index", 1, owner=_OWNER)
    if stop <= start:
        raise ValueError(
            f"{_OWNER}: end_index must be higher than start_index (end_index is exclusive). Received: "
            f"start_index={start}, end_index={stop}."
        )
    if stop > n:
        raise ValueError(
            f"{_OWNER}: end_index={stop} is past the end of the data (length {n}); end_index is exclusive, so "
            f"at most {n}."
        )

    span = (sequence_length - 1) * sampling_rate + 1  # rows one window covers
    count = stop - start - span + 1
    if count <= 0:
        raise ValueError(
            f"{_OWNER}: data is too short for even one window. A window of sequence_length={sequence_length} "
            f"with sampling_rate={sampling_rate} spans {span} rows, so data[start_index:end_index] needs at least "
            f"{span} rows, but it has {stop - start} (start_index={start}, end_index={stop}). Use a shorter "
            "sequence_length or sampling_rate, or more data."
        )
    if targets is not None:
        if len(targets) <= start:
            raise ValueError(
                f"{_OWNER}: targets has {len(targets)} rows, so no window starting at or after "
                f"start_index={start} has a target; targets[i] is the target of the window starting at row i."
            )
        count = min(count, len(targets) - start)
    # int32 start positions, as in Keras, unless the data is too long for them.
    positions = np.arange(0, count, sequence_stride, dtype=np.int32 if count < 2**31 - 1 else np.int64)
    if shuffle and seed is None:
        seed = int(np.random.randint(1e6))
    return TimeseriesDataset(
        data, targets, positions, start, sequence_length, sampling_rate, batch_size, bool(shuffle), seed
    )
