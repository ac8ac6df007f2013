"""Forecasting beyond the data, honestly: multi-step forecasts from any lstmkit model, baselines and
metrics to judge them by.

- ``recursive_forecast(model, window, steps)``: feed a trained model's predictions back in.
- ``naive``, ``seasonal_naive``, ``drift``, ``mean``: baseline forecasts.
- ``mae``, ``rmse``, ``mape``, ``smape``, ``mase``: forecast errors.
"""

from lstmkit.forecasting.baselines import BASELINES, baseline_forecasts, drift, mean, naive, seasonal_naive
from lstmkit.forecasting.metrics import mae, mape, mase, rmse, smape
from lstmkit.forecasting.recursive import recursive_forecast

__all__ = [
    "BASELINES",
    "baseline_forecasts",
    "drift",
    "mae",
    "mape",
    "mase",
    "mean",
    "naive",
    "recursive_forecast",
    "rmse",
    "seasonal_naive",
    "smape",
]
