"""Forecast metrics and baselines against hand-computed values."""

import numpy as np
import pytest

from lstmkit.forecasting import (
    baseline_forecasts,
    drift,
    mae,
    mape,
    mase,
    mean,
    naive,
    rmse,
    seasonal_naive,
    smape,
)


def test_metrics_on_hand_computed_values():
    actual, forecast = [100.0, 200.0, 400.0], [110.0, 180.0, 400.0]
    assert mae(actual, forecast) == pytest.approx(10.0)  # (10 + 20 + 0) / 3
    assert rmse(actual, forecast) == pytest.approx(np.sqrt(500 / 3))  # (100 + 400 + 0) / 3
    assert mape(actual, forecast) == pytest.approx(100 * (0.1 + 0.1 + 0) / 3)
    assert smape(actual, forecast) == pytest.approx(100 * (20 / 210 + 40 / 380 + 0) / 3)
    # history 1, 3, 2, 6: naive in-sample errors 2, 1, 4 -> scale 7/3; season 2: |2-1|, |6-3| -> scale 2
    assert mase(actual, forecast, [1, 3, 2, 6]) == pytest.approx(10 / (7 / 3))
    assert mase(actual, forecast, [1, 3, 2, 6], season=2) == pytest.approx(5.0)


def test_metric_edge_cases():
    assert np.isnan(mape([0.0, 1.0], [1.0, 1.0]))  # undefined with a zero actual
    assert smape([0.0, 2.0], [0.0, 1.0]) == pytest.approx(100 * (0 + 2 / 3) / 2)  # 0/0 counts as 0
    assert np.isnan(mase([1.0], [2.0], [5, 5, 5]))  # a constant history has no scale
    with pytest.raises(ValueError, match=r"same shape; received \(2,\) and \(3,\)"):
        rmse([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="needs at least 13"):
        mase([1.0], [1.0], np.arange(12), season=12)


def test_baselines_on_hand_computed_values():
    history = np.array([10.0, 12.0, 11.0, 14.0, 13.0, 16.0])
    np.testing.assert_array_equal(naive(history, 3), [16, 16, 16])
    np.testing.assert_array_equal(seasonal_naive(history, 5, 2), [13, 16, 13, 16, 13])
    np.testing.assert_array_equal(seasonal_naive(history, 4, 3), [14, 13, 16, 14])
    np.testing.assert_allclose(drift(history, 2), [16 + 6 / 5, 16 + 12 / 5])
    np.testing.assert_allclose(mean(history, 2), [76 / 6, 76 / 6])
    forecasts = baseline_forecasts(history, 2, season=3)
    assert list(forecasts) == ["naive", "seasonal_naive", "drift", "mean"]
    assert "seasonal_naive" not in baseline_forecasts(history, 2)  # no season known
    with pytest.raises(ValueError, match="less than one season"):
        seasonal_naive(history, 2, 12)
    with pytest.raises(ValueError, match="history is empty"):
        naive([], 2)
