"""Reading the user's series: a pandas Series or DataFrame (or an array) into the target values, the covariate
columns and a regular time axis, with an error that says what to change for every kind of bad input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from lstmkit.forecasting.timeindex import TimeAxis, fill_missing, regularize, require_pandas, show_values
from lstmkit.utils.naming import unknown_name_error

__all__ = ["SeriesData", "prepare_data"]


@dataclass
class SeriesData:
    """A series ready for forecasting: ``target`` (n,), ``covariates`` (n, k), their ``index`` on ``axis``."""

    target: np.ndarray
    covariates: np.ndarray
    index: object
    axis: TimeAxis
    target_name: object
    covariate_names: list = field(default_factory=list)
    inserted: int = 0  # rows added for missing timestamps
    filled: int = 0  # values filled (gaps and missing values)

    def __len__(self) -> int:
        return len(self.target)

    def head(self, n: int) -> SeriesData:
        """The first ``n`` rows: the past at a backtest cut."""
        return SeriesData(
            self.target[:n],
            self.covariates[:n],
            self.index[:n],
            self.axis,
            self.target_name,
            self.covariate_names,
        )

    def fingerprint(self) -> str:
        digest = hashlib.sha1(np.ascontiguousarray(self.target).tobytes())
        digest.update(np.ascontiguousarray(self.covariates).tobytes())
        return f"{len(self)}:{digest.hexdigest()}"


def _as_frame(data, owner: str):
    pd = require_pandas()
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else "y")
    if data is None:
        raise ValueError(f"{owner}: the data is None; pass a pandas Series, a DataFrame or an array.")
    arr = np.asarray(data)
    if arr.ndim == 1:
        return pd.DataFrame({"y": arr})
    if arr.ndim == 2:
        return pd.DataFrame(arr)
    raise ValueError(
        f"{owner}: the data must be a Series, a DataFrame, or an array of shape (T,) or (T, columns); "
        f"received an array of shape {arr.shape}."
    )


def _parse_time_column(frame, time, owner: str):
    pd = require_pandas()
    if time not in frame.columns:
        raise unknown_name_error("time column", time, [str(c) for c in frame.columns])
    raw = frame[time]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        parsed = pd.to_datetime(raw, errors="coerce")
        bad = parsed.isna() & raw.notna()
        if bad.any() or parsed.isna().all():
            examples = raw[bad].astype(str).head(3).tolist() or raw.astype(str).head(3).tolist()
            raise ValueError(
                f"{owner}: the time column {time!r} has values that are not dates ({', '.join(map(repr, examples))}"
                f"{' ...' if bad.sum() > 3 else ''}; {int(bad.sum())} of {len(raw)} rows). Fix or drop those rows, "
                "or name the right column with time= (`--time` on the command line)."
            )
    if parsed.isna().any():
        raise ValueError(
            f"{owner}: the time column {time!r} has {int(parsed.isna().sum())} empty value(s); every row needs a "
            "timestamp. Drop those rows first."
        )
    frame = frame.drop(columns=[time])
    frame.index = pd.DatetimeIndex(parsed, name=time)
    return frame


def _numeric_column(frame, name, role: str, owner: str) -> np.ndarray:
    pd = require_pandas()
    column = frame[name]
    if pd.api.types.is_bool_dtype(column) or not (
        pd.api.types.is_numeric_dtype(column)
        or column.dtype == object
        or pd.api.types.is_string_dtype(column)
    ):
        raise TypeError(f"{owner}: the {role} column {name!r} is not numeric (dtype {column.dtype}).")
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        examples = ", ".join(repr(v) for v in column[bad].head(3))
        raise TypeError(
            f"{owner}: the {role} column {name!r} is not numeric: it holds {examples}"
            f"{' ...' if bad.sum() > 3 else ''} ({int(bad.sum())} of {len(column)} values). Choose a numeric "
            "column, or clean it first, e.g. df[col] = pd.to_numeric(df[col], errors='coerce') to make such "
            "values missing."
        )
    return values.to_numpy(dtype=np.float64)


def _choose_target(frame, target, exclude, owner: str):
    pd = require_pandas()
    columns = list(frame.columns)
    if target is not None:
        if target not in columns:
            raise unknown_name_error("target column", target, [str(c) for c in columns])
        return target
    numeric = [c for c in columns if c not in exclude and pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    dtypes = ", ".join(f"{c!r} ({frame[c].dtype})" for c in columns) or "none"
    if not numeric:
        raise ValueError(
            f"{owner}: no numeric column to forecast; the columns are {dtypes}. Name the target column with "
            "target= (`--target` on the command line), and make sure its values are numbers."
        )
    raise ValueError(
        f"{owner}: the data has several numeric columns ({', '.join(map(repr, numeric))}); name the one to "
        f"forecast with target={numeric[0]!r} (`--target {numeric[0]}`). Others can be inputs with covariates=[...]."
    )


def prepare_data(data, target=None, covariates=None, time=None, fill=None, owner="Forecaster") -> SeriesData:
    """The target, the covariates and the time axis of ``data``, checked.

    ``data``: a Series, a DataFrame (time from its DatetimeIndex or integer index, or from the column named
    ``time``), or an array (1-D: the target; 2-D: ``target`` is a column position). ``fill`` (None,
    'interpolate', 'ffill', 'bfill', 'zero') fills missing timestamps and values instead of refusing them.
    """
    pd = require_pandas()
    frame = _as_frame(data, owner)
    if time is not None:
        frame = _parse_time_column(frame, time, owner)
    elif not isinstance(frame.index, pd.DatetimeIndex):
        datetime_columns = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        if len(datetime_columns) == 1:
            frame = _parse_time_column(frame, datetime_columns[0], owner)
    covariates = [] if covariates is None else list(covariates)
    for name in covariates:
        if name not in frame.columns:
            raise unknown_name_error("covariate column", name, [str(c) for c in frame.columns])
    target = _choose_target(frame, target, set(covariates), owner)
    if target in covariates:
        raise ValueError(
            f"{owner}: the target {target!r} is also listed in covariates; a column is one or the other."
        )
    values = {target: _numeric_column(frame, target, "target", owner)}
    for name in covariates:
        values[name] = _numeric_column(frame, name, "covariate", owner)
    table = pd.DataFrame(values, index=frame.index)
    table, axis, inserted = regularize(table, "The data's time index", fill)
    missing = table.isna()
    filled = int(missing.to_numpy().sum())
    if filled:
        if fill is None:
            column = missing.any().idxmax()
            where = table.index[missing[column].to_numpy()]
            raise ValueError(
                f"{owner}: the column {column!r} has {int(missing[column].sum())} missing value(s) (at "
                f"{show_values(where)}). Fill them: fill='interpolate' (or 'ffill', 'bfill', 'zero'; `--fill` on "
                "the command line), or drop or fill them yourself."
            )
        table = fill_missing(table, axis, fill)
    arr = table.to_numpy(dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{owner}: the data holds infinite values; replace them (e.g. with NaN and fill=...)."
        )
    if len(arr) and np.ptp(arr[:, 0]) == 0:
        raise ValueError(
            f"{owner}: the target {target!r} is constant (every value is {arr[0, 0]:g}): its forecast is that "
            "value, and there is nothing for a model to learn. Check that it is the column you meant "
            "(target= / `--target`)."
        )
    return SeriesData(
        arr[:, 0].copy(),
        arr[:, 1:].copy(),
        table.index,
        axis,
        target,
        covariates,
        inserted,
        filled,
    )
