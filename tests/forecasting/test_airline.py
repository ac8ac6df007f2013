"""Acceptance on the embedded airline-passengers series: the default Forecaster, trained on 1949-1959, forecasts
1960 with an RMSE at least 30 % below the seasonal-naive forecast's (repeat 1959), for each of three seeds,
and its 90 % conformal interval covers 75-100 % of the 12 held-out months.

Measured (torch 2.13.0 CPU, 1 thread, 2026-11-26): seasonal-naive RMSE 50.71; model RMSE 18.1 / 17.2 / 15.9
(64 % / 66 % / 69 % lower) for seeds 0 / 1 / 2; interval coverage 10/12, 10/12, 11/12. The test prints the
numbers of its own run (pytest -s).
"""

import numpy as np
import pytest

from lstmkit.forecasting import AIRLINE_PASSENGERS, Forecaster, load_airline, rmse, seasonal_naive


def test_embedded_series_is_the_classic_one():
    series = load_airline()
    assert len(series) == 144 and series.sum() == 40363  # Box & Jenkins Series G: 144 months, 40 363 in all
    assert series.index[0].strftime("%Y-%m") == "1949-01" and series.index.freqstr == "MS"
    assert (AIRLINE_PASSENGERS[:3], AIRLINE_PASSENGERS[-3:]) == ((112, 118, 132), (461, 390, 432))
    frame = load_airline(as_frame=True)
    assert list(frame.columns) == ["month", "passengers"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_forecaster_beats_seasonal_naive_by_30_percent_with_honest_intervals(seed):
    series = load_airline()
    train, test = series[:-12], series[-12:]
    baseline = rmse(test, seasonal_naive(train, 12, 12))
    assert baseline == pytest.approx(50.708, abs=1e-3)

    forecast = Forecaster(seed=seed).fit(train).predict(coverage=0.9)
    model = rmse(test, forecast["forecast"])
    inside = (test.to_numpy() >= forecast["lower"].to_numpy()) & (
        test.to_numpy() <= forecast["upper"].to_numpy()
    )
    print(
        f"seed {seed}: model RMSE {model:.2f}, seasonal naive {baseline:.2f} ({1 - model / baseline:.0%} lower); "
        f"90% interval covers {inside.sum()}/12, mean width {np.mean(forecast['upper'] - forecast['lower']):.1f}"
    )
    assert model <= 0.7 * baseline
    assert 0.75 <= inside.mean() <= 1.0
