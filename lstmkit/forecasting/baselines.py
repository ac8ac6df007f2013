"""Baseline forecasts: what a model must beat to be worth its training.

Each takes the history (the values up to the forecast origin, oldest first) and a horizon, and returns the
next ``horizon`` values. A model whose errors match ``naive``'s has learned to copy the last value.
"""

from __future__ import annotations

import numpy as np

from lstmkit.utils.checks import check_int

__all__ = ["BASELINES", "baseline_forecasts", "drift", "mean", "naive", "seasonal_naive"]


def _history(history, owner: str) -> np.ndarray:
    values = np.asarray(history, dtype=np.float64).ravel()
    if len(values) == 0:
        raise ValueError(f"{owner}: the history is empty; a baseline needs at least one past value.")
    return values


def naive(history, horizon) -> np.ndarray:
    """The last value, repeated."""
    values = _history(history, "naive")
    return np.full(check_int(horizon, "horizon", 1, owner="naive"), values[-1])


def seasonal_naive(history, horizon, season) -> np.ndarray:
    """The value one season earlier: step ``h`` repeats ``history[T + h - season * ceil(h / season)]``."""
    values = _history(history, "seasonal_naive")
    horizon = check_int(horizon, "horizon", 1, owner="seasonal_naive")
    season = check_int(season, "season", 1, owner="seasonal_naive")
    if len(values) < season:
        raise ValueError(
            f"seasonal_naive: the history has {len(values)} values, less than one season ({season})."
        )
    last_season = values[-season:]
    return last_season[np.arange(horizon) % season]


def drift(history, horizon) -> np.ndarray:
    """The line through the first and the last value, continued: ``last + h * (last - first) / (T - 1)``."""
    values = _history(history, "drift")
    horizon = check_int(horizon, "horizon", 1, owner="drift")
    slope = (values[-1] - values[0]) / (len(values) - 1) if len(values) > 1 else 0.0
    return values[-1] + slope * np.arange(1, horizon + 1)


def mean(history, horizon) -> np.ndarray:
    """The mean of the history, repeated."""
    values = _history(history, "mean")
    return np.full(check_int(horizon, "horizon", 1, owner="mean"), values.mean())


BASELINES = ("naive", "seasonal_naive", "drift", "mean")


def baseline_forecasts(history, horizon, season=None) -> dict[str, np.ndarray]:
    """Every baseline's forecast, by name; ``seasonal_naive`` only with a season of at least 2 that the
    history covers."""
    result = {"naive": naive(history, horizon)}
    if season is not None and season >= 2 and len(np.ravel(history)) >= season:
        result["seasonal_naive"] = seasonal_naive(history, horizon, season)
    result["drift"] = drift(history, horizon)
    result["mean"] = mean(history, horizon)
    return result
