"""Deciding how to difference a series: a seasonal-strength measure and the KPSS statistic.

An LSTM fed standardized windows cannot extrapolate a trend past the values it was trained on, and learns a
seasonal pattern faster from year-on-year changes than from levels. ``choose_differences`` makes the choice
the way automatic ARIMA procedures do, on the training data only:

1. seasonal difference (``y[t] - y[t - period]``) when the period is known, the series covers at least
   three periods and its seasonal autocorrelation is strong (``seasonal_strength >= 0.5``);
2. then a first difference when the KPSS test rejects a stationary level at the 5 % level.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KPSS_CRITICAL_5PCT",
    "SEASONAL_THRESHOLD",
    "choose_differences",
    "kpss_statistic",
    "seasonal_strength",
]

KPSS_CRITICAL_5PCT = 0.463  # level stationarity (Kwiatkowski et al. 1992, table 1)
SEASONAL_THRESHOLD = 0.5


def kpss_statistic(values, lags=None) -> float:
    """The KPSS statistic for level stationarity: ``sum(S_t^2) / (n^2 * s^2)``, with ``S_t`` the partial sums
    of the deviations from the mean and ``s^2`` their long-run variance (Bartlett weights, ``lags`` of
    them; default ``ceil(12 * (n / 100) ** 0.25)``). Large values (> 0.463 at 5 %) reject stationarity."""
    x = np.asarray(values, dtype=np.float64).ravel()
    n = len(x)
    if n < 3:
        raise ValueError(f"kpss_statistic: needs at least 3 values; received {n}.")
    if lags is None:
        lags = int(np.ceil(12 * (n / 100) ** 0.25))
    lags = min(int(lags), n - 1)
    deviations = x - x.mean()
    partial_sums = np.cumsum(deviations)
    long_run = deviations @ deviations / n
    for k in range(1, lags + 1):
        long_run += 2 * (1 - k / (lags + 1)) * (deviations[k:] @ deviations[:-k]) / n
    if long_run <= 0:
        return 0.0  # a constant series is stationary
    return float(partial_sums @ partial_sums / (n * n * long_run))


def _centered_moving_average(x: np.ndarray, period: int) -> np.ndarray:
    """The classical-decomposition trend: a centered moving average over one period (2 x period for an even
    period), NaN where the window does not fit."""
    if period % 2:
        weights = np.full(period, 1.0 / period)
    else:
        weights = np.r_[0.5, np.ones(period - 1), 0.5] / period
    trend = np.full(len(x), np.nan)
    half = len(weights) // 2
    trend[half : len(x) - half] = np.convolve(x, weights, mode="valid")
    return trend


def seasonal_strength(values, period) -> float:
    """The autocorrelation at lag ``period`` of the series minus its moving-average trend: near 1 for a
    strong repeating pattern, near 0 (or negative) for none."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if period < 2 or len(x) < 3 * period:
        return 0.0
    detrended = x - _centered_moving_average(x, period)
    detrended = detrended[~np.isnan(detrended)]
    detrended -= detrended.mean()
    denominator = detrended @ detrended
    if denominator == 0:
        return 0.0
    return float(detrended[period:] @ detrended[:-period] / denominator)


def needs_seasonal_difference(values, period) -> bool:
    """Whether the period is known, the series covers three of them, and its seasonal pattern is strong."""
    return bool(period and period >= 2 and seasonal_strength(values, period) >= SEASONAL_THRESHOLD)


def needs_first_difference(values) -> bool:
    """Whether KPSS rejects a stationary level at 5 % (series of fewer than 10 values: never)."""
    return len(values) >= 10 and kpss_statistic(values) > KPSS_CRITICAL_5PCT


def choose_differences(values, period=None) -> tuple[bool, int]:
    """``(seasonal, first)``: whether to take a seasonal difference at lag ``period``, and 0 or 1 first
    differences after it, for the series ``values`` (already logged if a log is used)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    seasonal = needs_seasonal_difference(x, period)
    rest = x[period:] - x[:-period] if seasonal else x
    return seasonal, int(needs_first_difference(rest))
