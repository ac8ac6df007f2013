"""CSVLogger: one CSV row per epoch with the epoch's logs."""

from __future__ import annotations

import collections.abc
import csv
import os
import warnings

import numpy as np

from lstmkit import backend
from lstmkit.callbacks.base import Callback
from lstmkit.saving.writing import check_target

__all__ = ["CSVLogger"]


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return '"[' + ", ".join(map(str, value)) + ']"'
    return value


class CSVLogger(Callback):
    """``CSVLogger(filename, separator=',', append=False)``: writes an ``epoch`` column (0-based, as
    Keras) then the logged values in sorted order, one row per epoch, flushed after each row so the
    file can be read while training runs.

    As in Keras 3, when the first epoch has no validation values the header still gets their
    ``val_`` columns (filled with ``NA``), so that epochs validated later (``validation_freq``) fit.
    With ``append=True`` rows are added to an existing file; its header is kept and reused as the
    column order (a warning says so if the logged values differ). Written by the main process only.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"filename must be a path (str or os.PathLike). Received: {filename!r}") from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"separator must be a single character such as ',' or ';'. Received: {separator!r}"
            )
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self.csv_file = None
        self.writer = None
        self._existing_header = None

    def on_train_begin(self, logs=None):
        self._close()
        self.keys, self.writer, self._existing_header = None, None, None
        if not backend.is_main_process():
            return
        check_target(self.filename, "CSVLogger's log")  # fail now, naming the file
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as existing:
                first = existing.readline()
            if first.strip():
                self._existing_header = next(csv.reader([first], delimiter=self.sep))
        # Kept open across epochs (closed at the end of training), as Keras does.
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None:
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = self._columns(logs)
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep, extrasaction="ignore"
            )
            if self._existing_header is None:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def _columns(self, logs) -> list[str]:
        if self._existing_header is not None:
            columns = [c for c in self._existing_header if c != "epoch"]
            if set(columns) != set(logs) and not set(logs) <= set(columns):
                warnings.warn(
                    f"CSVLogger(append=True): '{self.filename}' has the columns {columns}, but this training "
                    f"logs {sorted(logs)}; rows follow the file's columns (values it has no column for are "
                    "left out).",
                    UserWarning,
                    stacklevel=3,
                )
            return columns
        keys = sorted(logs)
        if keys and not any(k.startswith("val_") for k in keys):
            keys += [f"val_{k}" for k in keys]
        return keys

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None
