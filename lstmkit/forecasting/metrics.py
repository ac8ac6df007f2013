"""Forecast errors: MAE, RMSE, MAPE, sMAPE and MASE.

Each takes the actual values and the forecasts (any matching shapes; every value counts once). MASE also
needs the history the forecast was made from: it divides the forecast's MAE by the in-sample MAE of the
seasonal-naive forecast on that history, so MASE < 1 means better than repeating the last season (the last
value when ``season`` is 1), whatever the series' units.
"""

from __future__ import annotations

import numpy as np

from lstmkit.utils.checks import check_int

__all__ = ["METRICS", "mae", "mape", "mase", "rmse", "smape"]


def _pair(actual, forecast, name: str) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(actual, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    if actual.shape != forecast.shape:
        raise ValueError(
            f"{name}: actual and forecast must have the same shape; received {actual.shape} and {forecast.shape}."
        )
    if actual.size == 0:
        raise ValueError(f"{name}: actual and forecast are empty; there is nothing to score.")
    return actual, forecast


def mae(actual, forecast) -> float:
    """Mean absolute error, in the series' units."""
    actual, forecast = _pair(actual, forecast, "mae")
    return float(np.mean(np.abs(actual - forecast)))


def rmse(actual, forecast) -> float:
    """Root mean squared error, in the series' units."""
    actual, forecast = _pair(actual, forecast, "rmse")
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(actual, forecast) -> float:
    """Mean absolute percentage error, in percent. NaN when an actual value is 0 (the ratio is undefined)."""
    actual, forecast = _pair(actual, forecast, "mape")
    if np.any(actual == 0):
        return float("nan")
    return float(100.0 * np.mean(np.abs((actual - forecast) / actual)))


def smape(actual, forecast) -> float:
    """Symmetric MAPE, ``100 * mean(2 |a - f| / (|a| + |f|))``, in percent (0 to 200); a term with
    ``a = f = 0`` counts as 0."""
    actual, forecast = _pair(actual, forecast, "smape")
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.divide(
        2.0 * np.abs(actual - forecast), denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return float(100.0 * np.mean(terms))


def mase(actual, forecast, history, season=1) -> float:
    """Mean absolute scaled error: MAE of the forecast divided by the in-sample MAE of the ``season``-naive
    forecast on ``history`` (``mean |history[t] - history[t - season]|``). NaN when that scale is 0."""
    actual, forecast = _pair(actual, forecast, "mase")
    season = check_int(season, "season", 1, owner="mase")
    history = np.asarray(history, dtype=np.float64).ravel()
    if len(history) <= season:
        raise ValueError(
            f"mase: the history has {len(history)} values; the seasonal-naive scale with season={season} needs "
            f"at least {season + 1}."
        )
    scale = np.mean(np.abs(history[season:] - history[:-season]))
    if scale == 0:
        return float("nan")
    return float(np.mean(np.abs(actual - forecast)) / scale)


# The metrics a backtest reports, in the order of its tables; MASE is handled separately (it needs history).
METRICS = {"MAE": mae, "RMSE": rmse, "MAPE": mape, "sMAPE": smape}
