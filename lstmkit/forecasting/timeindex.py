"""The time axis of a series: its frequency, its gaps, its seasonal period, and the timestamps that follow it.

A DatetimeIndex must be sorted, without duplicates, and regular (pandas can name its frequency); an integer
index must step evenly. A missing timestamp is a gap: it is reported, with the first missing ones, unless a
``fill`` method says how to fill it.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "FILL_METHODS",
    "TimeAxis",
    "fill_missing",
    "regularize",
    "require_pandas",
    "seasonal_period_for",
    "show_values",
]

FILL_METHODS = ("interpolate", "ffill", "bfill", "zero")


def require_pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "lstmkit.forecasting needs pandas for time indexes. Install it with `pip install pandas` (or "
            "`pip install lstmkit[forecast]`)."
        ) from None
    return pd


def _infer_offset(index):
    """pandas' inferred frequency of ``index`` as a DateOffset, or None."""
    pd = require_pandas()
    if getattr(index, "freq", None) is not None:
        return index.freq
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 announces that infer_freq will return an offset
        inferred = pd.infer_freq(index)
    if inferred is None:
        return None
    return pd.tseries.frequencies.to_offset(inferred)


def format_time(stamp) -> str:
    """A timestamp as people write it: the date alone at midnight ('1960-01-01'), else in full."""
    if hasattr(stamp, "normalize") and hasattr(stamp, "strftime") and stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return str(stamp)


def show_values(stamps, limit=3) -> str:
    shown = ", ".join(format_time(s) for s in list(stamps)[:limit])
    return shown + (f", ... ({len(stamps)} in all)" if len(stamps) > limit else "")


def seasonal_period_for(offset) -> int | None:
    """The number of steps in one natural cycle of data at this frequency: a year of months (12) or quarters
    (4) or weeks (52), a week of days (7) or business days (5), a day of hours (24 / n) or minutes; None for
    yearly data and frequencies without one."""
    if offset is None:
        return None
    name, n = type(offset).__name__, getattr(offset, "n", 1)
    per_cycle = {
        "MonthBegin": 12,
        "MonthEnd": 12,
        "BusinessMonthBegin": 12,
        "BusinessMonthEnd": 12,
        "QuarterBegin": 4,
        "QuarterEnd": 4,
        "BQuarterBegin": 4,
        "BQuarterEnd": 4,
        "Week": 52,
        "Day": 7,
        "BusinessDay": 5,
        "Hour": 24,
        "Minute": 24 * 60,
    }.get(name)
    if per_cycle is None or n < 1 or per_cycle % n:
        return None
    period = per_cycle // n
    return period if 2 <= period <= 500 else None


class TimeAxis:
    """A regular time axis: ``kind`` 'datetime' (with a pandas DateOffset ``offset``) or 'integer' (with a
    ``step``). ``future(last, steps)`` continues it."""

    def __init__(self, kind: str, offset=None, step: int = 1, name=None):
        self.kind, self.offset, self.step, self.name = kind, offset, step, name

    @property
    def freq(self) -> str | None:
        """The frequency as pandas spells it ('MS', 'D', 'h', ...), or None for an integer axis."""
        return self.offset.freqstr if self.offset is not None else None

    @property
    def seasonal_period(self) -> int | None:
        return seasonal_period_for(self.offset) if self.kind == "datetime" else None

    def future(self, last, steps: int):
        """The ``steps`` timestamps after ``last``."""
        pd = require_pandas()
        if self.kind == "datetime":
            index = pd.date_range(start=last, periods=steps + 1, freq=self.offset)[1:]
        else:
            index = pd.RangeIndex(int(last) + self.step, int(last) + self.step * (steps + 1), self.step)
        return index.rename(self.name)

    def describe(self) -> str:
        return f"every {self.freq}" if self.kind == "datetime" else f"integer steps of {self.step}"

    def state(self) -> dict:
        return {"kind": self.kind, "freq": self.freq, "step": self.step, "name": self.name}

    @classmethod
    def from_state(cls, state: dict) -> TimeAxis:
        pd = require_pandas()
        offset = pd.tseries.frequencies.to_offset(state["freq"]) if state.get("freq") else None
        return cls(state["kind"], offset, int(state.get("step", 1)), state.get("name"))


def _check_order(index, what: str) -> None:
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()
        raise ValueError(
            f"{what} has repeated timestamps ({show_values(duplicated)}); each time step needs one row. Aggregate "
            "them first, e.g. df = df.groupby('date').mean()."
        )
    if not index.is_monotonic_increasing:
        raise ValueError(f"{what} is not in time order; sort it first, e.g. df = df.sort_index().")


def _datetime_axis(index, what: str, fill):
    pd = require_pandas()
    offset = _infer_offset(index)
    if offset is not None:
        return TimeAxis("datetime", offset, name=index.name), None
    if len(index) < 3:
        raise ValueError(f"{what} has {len(index)} timestamps; at least 3 are needed to tell its frequency.")
    # Irregular: the frequency most stretches of three consecutive stamps follow, then what is missing from it.
    counts: dict = {}
    for start in range(0, len(index) - 2, max(1, (len(index) - 2) // 200)):
        found = _infer_offset(pd.DatetimeIndex(index[start : start + 3]))
        if found is not None:
            counts[found] = counts.get(found, 0) + 1
    if counts:
        offset = max(counts, key=counts.get)
        full = pd.date_range(index[0], index[-1], freq=offset)
        if index.isin(full).all():
            missing = full.difference(index)
            if fill is None:
                raise ValueError(
                    f"{what} has gaps: it steps every {offset.freqstr}, but {len(missing)} timestamp(s) are "
                    f"missing ({show_values(missing)}). Fill them: fill='interpolate' (or 'ffill', 'bfill', 'zero'; "
                    "`--fill interpolate` on the command line), or fill the rows in yourself."
                )
            return TimeAxis("datetime", offset, name=index.name), full.rename(index.name)
    steps = pd.Series(index[1:] - index[:-1]).value_counts()
    raise ValueError(
        f"{what} is irregular: its timestamps are not evenly spaced and no frequency fits them (the most "
        f"common steps: {', '.join(str(s) for s in steps.index[:3])}). Resample it to a regular frequency "
        "first, e.g. df = df.resample('D').mean()."
    )


def _integer_axis(index, what: str, fill):
    pd = require_pandas()
    values = np.asarray(index, dtype=np.int64)
    if len(values) < 2:
        return TimeAxis("integer", step=1, name=index.name), None
    steps = np.diff(values)
    step = int(np.min(steps))
    if np.all(steps == step):
        return TimeAxis("integer", step=step, name=index.name), None
    if step > 0 and np.all(steps % step == 0):
        full = pd.RangeIndex(values[0], values[-1] + step, step, name=index.name)
        missing = full.difference(index)
        if fill is None:
            raise ValueError(
                f"{what} has gaps: it steps by {step}, but {len(missing)} position(s) are missing "
                f"({show_values(missing)}). Fill them with fill='interpolate' (or 'ffill', 'bfill', 'zero'), or "
                "fill the rows in yourself."
            )
        return TimeAxis("integer", step=step, name=index.name), full
    raise ValueError(f"{what} is an integer index with uneven steps ({sorted(set(steps.tolist()))[:5]}).")


def regularize(frame, what: str = "The data's time index", fill=None):
    """``(frame, axis, inserted)``: the DataFrame on a regular time axis (missing timestamps inserted as
    rows of NaN when ``fill`` is given), its TimeAxis, and how many rows were inserted. Raises a teaching
    error for duplicates, disorder, gaps without ``fill``, and irregular stamps."""
    pd = require_pandas()
    if fill is not None and fill not in FILL_METHODS:
        raise ValueError(
            f"fill must be None or one of {', '.join(map(repr, FILL_METHODS))}. Received: {fill!r}"
        )
    index = frame.index
    _check_order(index, what)
    if isinstance(index, pd.DatetimeIndex):
        axis, full = _datetime_axis(index, what, fill)
    elif pd.api.types.is_integer_dtype(index.dtype):
        axis, full = _integer_axis(index, what, fill)
    else:
        raise TypeError(
            f"{what} must hold dates or integers; it holds {index.dtype}. Parse dates with pd.to_datetime, or "
            "name the date column (time='date', `--time date`)."
        )
    if full is None:
        return frame, axis, 0
    return frame.reindex(full), axis, len(full) - len(frame)


def fill_missing(frame, axis: TimeAxis, fill: str):
    """``frame`` with its NaN filled by ``fill`` (one of FILL_METHODS); values before the first or after the
    last known one take the nearest known value."""
    if fill == "interpolate":
        method = "time" if axis.kind == "datetime" else "linear"
        return frame.interpolate(method=method, limit_direction="both")
    if fill == "ffill":
        return frame.ffill().bfill()
    if fill == "bfill":
        return frame.bfill().ffill()
    return frame.fillna(0.0)
