"""Framing a series for supervised learning: ``make_windows`` (arrays ready for an LSTM) and
``series_to_supervised`` (a lagged-column DataFrame, as in the well-known forecasting tutorials)."""

from __future__ import annotations

import numpy as np

from lstmkit.utils.checks import as_rows, check_int
from lstmkit.utils.naming import unknown_name_error

__all__ = ["make_windows", "series_to_supervised"]


def _numeric(arr: np.ndarray, owner: str) -> np.ndarray:
    if arr.dtype.kind in "biuf":
        return arr
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: the series has dtype {arr.dtype} with non-numeric values; drop or convert those columns "
            "first (e.g. dates or labels: df = df.drop(columns=['date']), or pd.to_numeric)."
        ) from None


def _target_index(target_column, series, n_features: int) -> int:
    """The position of ``target_column``: a DataFrame column name, else a position."""
    columns = list(series.columns) if hasattr(series, "columns") else []
    if columns and target_column in columns:
        return columns.index(target_column)
    if isinstance(target_column, (int, np.integer)) and not isinstance(target_column, (bool, np.bool_)):
        if not -n_features <= target_column < n_features:
            raise ValueError(
                f"make_windows: target_column={target_column} is out of range for a series of {n_features} "
                f"features (positions 0..{n_features - 1})."
            )
        return int(target_column) % n_features
    if columns:
        raise unknown_name_error("target_column", target_column, [str(c) for c in columns])
    raise TypeError(
        f"make_windows: target_column must be a column position (int), or a column name when the series is a "
        f"DataFrame. Received: target_column={target_column!r}"
    )


def make_windows(series, lookback, horizon=1, stride=1, target_column=None):
    """Cut a series into (input window, following values) pairs for a recurrent model.

    Sample ``i`` starts at step ``t = i * stride``: its input is ``series[t : t + lookback]`` and its target
    the next ``horizon`` steps, ``series[t + lookback : t + lookback + horizon]``. A series of ``T`` steps
    gives ``(T - lookback - horizon) // stride + 1`` samples, so it needs at least ``lookback + horizon``
    steps.

    Args:
        series: a 1-D series of ``T`` values (list, array, pandas Series) or a 2-D one of shape ``(T, F)``
            (array, DataFrame): ``F`` features per step.
        lookback: steps per input window.
        horizon: how many following steps to predict.
        stride: steps between the starts of consecutive windows.
        target_column: for 2-D series, predict only this feature (a position, or a DataFrame column name);
            the inputs keep every feature.

    Returns:
        ``(X, y)``. X has shape ``(samples, lookback, F)`` (``F = 1`` for a 1-D series), ready for an LSTM.
        y has shape ``(samples, horizon)`` when one value per step is predicted (a 1-D series, or
        ``target_column`` given) and ``(samples, horizon, F)`` otherwise. dtypes are kept.
    """
    owner = "make_windows"
    lookback = check_int(lookback, "lookback", 1, owner=owner)
    horizon = check_int(horizon, "horizon", 1, owner=owner)
    stride = check_int(stride, "stride", 1, owner=owner)
    arr = _numeric(as_rows(series, "series", owner), owner)
    if arr.ndim > 2:
        raise ValueError(
            f"{owner}: series must be 1-D (T,) or 2-D (T, features); received shape {arr.shape}. It already "
            "looks windowed; pass the underlying series."
        )
    if arr.ndim == 1:
        if target_column is not None:
            raise ValueError(
                f"{owner}: target_column={target_column!r} needs a 2-D series (T, features); this series is 1-D, "
                "so its only column is already the target. Drop target_column."
            )
        values, target = arr[:, None], arr
    else:
        values = arr
        target = arr if target_column is None else arr[:, _target_index(target_column, series, arr.shape[1])]
    needed = lookback + horizon
    if len(arr) < needed:
        raise ValueError(
            f"{owner}: the series has {len(arr)} steps, too short for lookback={lookback} and horizon={horizon}: "
            f"one sample needs lookback + horizon = {needed} values. Use a shorter lookback or horizon, or a "
            "longer series."
        )
    starts = np.arange(0, len(arr) - needed + 1, stride)
    X = values[starts[:, None] + np.arange(lookback)]
    y = target[(starts + lookback)[:, None] + np.arange(horizon)]
    return X, y


def series_to_supervised(data, n_in=1, n_out=1, dropnan=True):
    """A series as a table of lagged copies: columns ``var1(t-n_in) ... varF(t-1)`` (inputs), then
    ``var1(t) ... varF(t)``, ``var1(t+1)`` ... up to ``t+n_out-1`` (outputs).

    Args:
        data: a list or 1-D array (one variable), a 2-D array of shape ``(T, F)``, a pandas Series or a
            DataFrame (its index is kept; columns are renamed ``var1`` .. ``varF`` in order).
        n_in: how many past steps (lags) become input columns (>= 0).
        n_out: how many steps from ``t`` on become output columns (>= 0; at least one of n_in, n_out > 0).
        dropnan: drop the rows made incomplete by the shifts (the first ``n_in`` and the last ``n_out - 1``).

    Returns:
        A pandas DataFrame of ``(n_in + n_out) * F`` columns; with ``dropnan`` it has
        ``T - n_in - n_out + 1`` rows. Shifted columns hold floats (the shifts introduce NaN).
    """
    owner = "series_to_supervised"
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"{owner} needs pandas. Install it with `pip install pandas`.") from None
    n_in = check_int(n_in, "n_in", 0, owner=owner)
    n_out = check_int(n_out, "n_out", 0, owner=owner)
    if n_in + n_out == 0:
        raise ValueError(
            f"{owner}: n_in and n_out are both 0, which gives no columns; use e.g. n_in=1, n_out=1."
        )
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
    elif isinstance(data, pd.Series):
        frame = data.to_frame()
    else:
        arr = as_rows(data, "data", owner)
        if arr.ndim > 2:
            raise ValueError(
                f"{owner}: data must be 1-D (T,) or 2-D (T, features); received shape {arr.shape}."
            )
        frame = pd.DataFrame(arr.reshape(len(arr), -1))
    n_vars = frame.shape[1]
    frame.columns = range(n_vars)
    if dropnan and len(frame) < n_in + n_out:
        raise ValueError(
            f"{owner}: data has {len(frame)} rows, too few for n_in={n_in} and n_out={n_out}: a complete row "
            f"needs n_in + n_out = {n_in + n_out} steps. Use smaller n_in/n_out or pass dropnan=False."
        )

    def label(step: int) -> str:
        return "t" if step == 0 else f"t{step:+d}"

    parts, names = [], []
    for step in list(range(-n_in, 0)) + list(range(n_out)):
        parts.append(frame.shift(-step))  # shift(k) moves values k rows down: row t sees t - k
        names += [f"var{j + 1}({label(step)})" for j in range(n_vars)]
    table = pd.concat(parts, axis=1)
    table.columns = names
    if dropnan:
        table = table.dropna()
    return table
