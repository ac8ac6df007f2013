"""Forecasting beyond the data, honestly: multi-step forecasts from any lstmkit model, rolling-origin
backtests without leakage, baselines, metrics and intervals.

- ``Forecaster``: the whole job on a series: ``fit``, ``predict`` (with ``coverage=`` intervals),
  ``backtest``, ``score``, ``plot``, ``save``/``load``.
- ``recursive_forecast(model, window, steps)``: feed a trained model's predictions back in.
- ``naive``, ``seasonal_naive``, ``drift``, ``mean``: baseline forecasts.
- ``mae``, ``rmse``, ``mape``, ``smape``, ``mase``: forecast errors.
- ``load_airline()``: the monthly airline-passengers series (1949-1960), shipped with the package.
"""

from lstmkit.forecasting.backtest import BacktestResult
from lstmkit.forecasting.baselines import BASELINES, baseline_forecasts, drift, mean, naive, seasonal_naive
from lstmkit.forecasting.datasets import AIRLINE_PASSENGERS, load_airline
from lstmkit.forecasting.forecaster import Forecaster
from lstmkit.forecasting.intervals import conformal_quantiles
from lstmkit.forecasting.metrics import mae, mape, mase, rmse, smape
from lstmkit.forecasting.models import default_model
from lstmkit.forecasting.plotting import plot_forecast
from lstmkit.forecasting.recursive import recursive_forecast
from lstmkit.forecasting.transforms import MinMaxScaler, StandardScaler

__all__ = [
    "AIRLINE_PASSENGERS",
    "BASELINES",
    "BacktestResult",
    "Forecaster",
    "MinMaxScaler",
    "StandardScaler",
    "baseline_forecasts",
    "conformal_quantiles",
    "default_model",
    "drift",
    "load_airline",
    "mae",
    "mape",
    "mase",
    "mean",
    "naive",
    "plot_forecast",
    "recursive_forecast",
    "rmse",
    "seasonal_naive",
    "smape",
]
