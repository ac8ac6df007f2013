"""``TimeseriesGenerator`` (Keras 2's ``keras.preprocessing.sequence.TimeseriesGenerator``): batches of
windows over a series, each window paired with the target at the step just after it."""

from __future__ import annotations

import numpy as np

from lstmkit.utils.checks import as_rows, check_int, is_int
from lstmkit.utils.py_dataset import PyDataset

__all__ = ["TimeseriesGenerator"]


class TimeseriesGenerator(PyDataset):
    """Windows of ``length`` past steps (read every ``sampling_rate``-th step), one batch per index.

    Sample ``j`` ends just before row ``r_j`` and predicts ``targets[r_j]``: its window is
    ``data[r_j - length : r_j : sampling_rate]``. The rows run ``r = start_index + length``,
    ``start_index + length + stride``, ... up to ``end_index`` (inclusive; default the last row). So with the
    defaults there are ``len(data) - length`` samples, and at least ``start_index + length + 1`` rows of data
    are needed.

    Args:
        data: array-like of shape ``(timesteps, ...)`` (list, NumPy array, DataFrame).
        targets: array-like with as many rows as ``data``; ``targets=data`` predicts the next step.
        length: how many past steps one window covers.
        sampling_rate: keep every ``sampling_rate``-th step of a window (so a window has
            ``ceil(length / sampling_rate)`` steps, ``length // sampling_rate`` when it divides).
        stride: steps between the last rows of two consecutive samples.
        start_index, end_index: only rows ``start_index .. end_index`` (inclusive) are used as targets'
            rows; windows may reach back to ``start_index``.
        shuffle: draw each batch's rows at random (with replacement, from NumPy's global generator, as
            Keras 2 does: seed it with ``np.random.seed`` or ``lstmkit.utils.set_random_seed``).
        reverse: give each window's steps in reverse order (latest first).
        batch_size: samples per batch (the last batch may be smaller when not shuffling).
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` (see ``PyDataset``).

    ``gen[i]`` is ``(samples, targets)``: samples of shape ``(batch, ceil(length / sampling_rate)) +
    data.shape[1:]``, targets of shape ``(batch,) + targets.shape[1:]``. ``len(gen)`` is
    ``(end_index - start_index - length + batch_size * stride) // (batch_size * stride)``.
    """

    def __init__(
        self,
        data,
        targets,
        length,
        sampling_rate=1,
        stride=1,
        start_index=0,
        end_index=None,
        shuffle=False,
        reverse=False,
        batch_size=128,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = "TimeseriesGenerator"
        data = as_rows(data, "data", owner)
        if targets is None:
            raise ValueError(
                f"{owner}: targets is None. Pass one target per row of data; to predict the next step of the "
                "series itself, pass targets=data."
            )
        targets = as_rows(targets, "targets", owner)
        if len(data) != len(targets):
            raise ValueError(
                f"{owner}: data and targets need the same length (targets[i] is the target of the window that "
                f"ends just before row i). Data length is {len(data)} while target length is {len(targets)}."
            )
        length = check_int(length, "length", 1, owner=owner)
        self.sampling_rate = check_int(sampling_rate, "sampling_rate", 1, owner=owner)
        self.stride = check_int(stride, "stride", 1, owner=owner)
        start_index = check_int(start_index, "start_index", 0, owner=owner)
        self.batch_size = check_int(batch_size, "batch_size", 1, owner=owner)
        last = len(data) - 1
        if end_index is None:
            end_index = last
        else:
            end_index = check_int(end_index, "end_index", 0, owner=owner)
            if end_index > last:
                raise ValueError(
                    f"{owner}: end_index={end_index} is past the last row of data (data has {len(data)} rows, so "
                    f"end_index can be at most {last}; end_index is inclusive)."
                )
        self.data, self.targets, self.length = data, targets, length
        # As in Keras 2, start_index holds the first target row, i.e. the given start_index + length.
        self.start_index, self.end_index = start_index + length, end_index
        self.shuffle, self.reverse = shuffle, reverse
        if self.start_index > self.end_index:
            if end_index == last:
                raise ValueError(
                    f"{owner}: data is too short for even one sample. A window of length={length} starting at "
                    f"start_index={start_index} needs at least start_index + length + 1 = {self.start_index + 1} "
                    f"rows (the window plus the row whose target it predicts), but data has {len(data)}. Use a "
                    f"smaller length or more data."
                )
            raise ValueError(
                f"{owner}: no sample fits between start_index={start_index} and end_index={end_index}: the first "
                f"sample predicts row start_index + length = {self.start_index}, which is after end_index. Use "
                f"end_index >= {self.start_index} (data has {len(data)} rows), or a smaller length or start_index."
            )
        self._offsets = np.arange(-length, 0, self.sampling_rate)

    def __len__(self) -> int:
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def _rows(self, index: int) -> np.ndarray:
        if self.shuffle:
            return np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        first = self.start_index + self.batch_size * self.stride * index
        stop = min(first + self.batch_size * self.stride, self.end_index + 1)
        return np.arange(first, stop, self.stride)

    def __getitem__(self, index):
        """Batch ``index`` as ``(samples, targets)`` (shapes in the class docstring)."""
        n = len(self)
        if not is_int(index):
            raise TypeError(f"TimeseriesGenerator indices are batch numbers (integers); received {index!r}.")
        if not -n <= index < n:
            raise IndexError(f"TimeseriesGenerator has {n} batches (0..{n - 1}); received index {index}.")
        rows = self._rows(int(index) % n)
        samples = self.data[rows[:, None] + self._offsets]
        if self.reverse:
            samples = np.ascontiguousarray(samples[:, ::-1])  # a copy: torch cannot wrap negative strides
        return samples, self.targets[rows]

    def get_config(self) -> dict:
        """The constructor arguments (``data``/``targets`` as the arrays held)."""
        return {
            "data": self.data,
            "targets": self.targets,
            "length": self.length,
            "sampling_rate": self.sampling_rate,
            "stride": self.stride,
            "start_index": self.start_index - self.length,
            "end_index": self.end_index,
            "shuffle": self.shuffle,
            "reverse": self.reverse,
            "batch_size": self.batch_size,
        }
