"""Intervals: split-conformal quantiles per step (hand-computed), leave-one-cut-out coverage, calibration from
a backtest, and Monte-Carlo dropout."""

import functools
import math

import numpy as np
import pytest

from lstmkit.forecasting import Forecaster, conformal_quantiles, default_model, load_airline
from lstmkit.forecasting.intervals import leave_one_out_intervals, min_cuts
from lstmkit.layers import LSTM, BatchNormalization, Dense, Dropout, Input
from lstmkit.models import Sequential

AIRLINE = load_airline()


def test_conformal_quantile_is_the_ceil_n_plus_1_times_coverage_smallest_error():
    residuals = np.column_stack([np.arange(1.0, 11.0), -np.arange(10.0, 0.0, -1.0) * 2])  # 10 cuts, 2 steps
    # n = 10, coverage 0.8: rank ceil(11 * 0.8) = 9 -> the 9th smallest |error| per step
    np.testing.assert_array_equal(conformal_quantiles(residuals, 0.8), [9.0, 18.0])
    np.testing.assert_array_equal(conformal_quantiles(residuals, 0.9), [10.0, 20.0])  # rank 10 = the largest
    assert (min_cuts(0.9), min_cuts(0.95), min_cuts(0.5)) == (9, 19, 1)
    with pytest.raises(
        ValueError, match=r"a 95% conformal interval needs at least 19 backtest cuts; the backtest has 10"
    ):
        conformal_quantiles(residuals, 0.95)
    with pytest.raises(ValueError, match="coverage must be a number between 0 and 1"):
        conformal_quantiles(residuals, 90)


def test_leave_one_out_calibrates_each_cut_on_the_others(rng):
    residuals = rng.normal(size=(12, 3))
    half = leave_one_out_intervals(residuals, 0.8)
    for i in range(12):
        others = np.sort(np.abs(np.delete(residuals, i, axis=0)), axis=0)
        np.testing.assert_array_equal(half[i], others[int(np.ceil(12 * 0.8)) - 1])  # n = 11 others: rank 10
    with pytest.raises(ValueError, match="needs at least 10 cuts"):
        leave_one_out_intervals(residuals[:9], 0.9)


def test_predict_calibrates_once_then_reuses_the_backtest():
    fits = []

    def build(input_shape, outputs):
        fits.append(1)
        return default_model(input_shape, outputs, units=4)

    forecaster = Forecaster(model=build, epochs=2, seed=0).fit(AIRLINE)
    interval = forecaster.predict(coverage=0.9)
    assert len(fits) == 2  # the final fit, then one fit for the calibration backtest (refit=False)
    calibration = forecaster.backtest_
    assert len(calibration.cuts) == 10 and calibration.fits == 1
    expected = conformal_quantiles(calibration.residuals, 0.9)
    np.testing.assert_allclose(interval["upper"] - interval["forecast"], expected)
    np.testing.assert_allclose(interval["forecast"] - interval["lower"], expected)
    narrower = forecaster.predict(coverage=0.5)
    assert (
        len(fits) == 2
        and (narrower["upper"] - narrower["lower"] < interval["upper"] - interval["lower"]).all()
    )
    with pytest.raises(ValueError, match=r"calibrated per step up to the horizon \(12\); for 13 steps"):
        forecaster.predict(horizon=13, coverage=0.9)


def test_too_little_data_to_calibrate_says_so():
    forecaster = Forecaster(epochs=1, seed=0, lookback=24, horizon=12).fit(AIRLINE[:70])
    # a fit: 13 rows for differencing + lookback 24 + horizon 12 + 11 for a dozen windows = 60; 9 more cuts and
    # the last cut's 12 months: 81
    with pytest.raises(
        ValueError, match=r"a backtest of 10 cuts .* needs about 81 rows, and the data has 70"
    ):
        forecaster.predict(coverage=0.9)


def test_backtest_reports_the_achieved_coverage():
    forecaster = Forecaster(epochs=2, seed=0, horizon=3, lookback=12)
    result = forecaster.backtest(AIRLINE, refit=False, coverage=0.8)
    table = result.forecasts
    inside = (table["actual"] >= table["lower"]) & (table["actual"] <= table["upper"])
    assert result.achieved_coverage == pytest.approx(inside.mean())
    # each cut's band: the ceil((n + 1) * 0.8)-th smallest |error| per step among the n = 9 other cuts (the 8th)
    errors = np.abs(result.residuals)
    n = len(errors) - 1
    half = np.stack(
        [np.sort(np.delete(errors, i, axis=0), axis=0)[math.ceil((n + 1) * 0.8) - 1] for i in range(n + 1)]
    )
    np.testing.assert_allclose(table["upper"] - table["model"], half.ravel())
    np.testing.assert_allclose(table["model"] - table["lower"], half.ravel())
    assert "conformal 80% intervals covered" in result.summary()


def test_mc_dropout_samples_with_dropout_on_and_batch_norm_in_inference():
    def build(input_shape, outputs):
        model = Sequential([Input(input_shape), LSTM(8), BatchNormalization(), Dropout(0.3), Dense(outputs)])
        model.compile(optimizer="adam", loss="mse")
        return model

    forecaster = Forecaster(model=build, epochs=2, seed=0, horizon=4, lookback=12).fit(AIRLINE)
    batch_norm = forecaster.model_.layers[1]
    moving_mean = batch_norm.get_weights()[2].copy()
    interval = forecaster.predict(coverage=0.9, method="mc_dropout", samples=64)
    assert (interval["lower"] < interval["upper"]).all()
    np.testing.assert_array_equal(batch_norm.get_weights()[2], moving_mean)  # no statistics updated
    assert not forecaster.model_.training
    point = forecaster.predict()
    np.testing.assert_array_equal(point.to_numpy(), interval["forecast"].to_numpy())  # the point: dropout off
    result = forecaster.backtest(start=-8, refit=False, coverage=0.9, method="mc_dropout")
    assert 0 <= result.achieved_coverage <= 1 and result.interval_method == "mc_dropout"


def test_mc_dropout_of_a_recurrent_layer():
    def build(input_shape, outputs):
        model = Sequential([Input(input_shape), LSTM(6, dropout=0.2, recurrent_dropout=0.2), Dense(outputs)])
        model.compile(optimizer="adam", loss="mse")
        return model

    forecaster = Forecaster(model=build, epochs=1, seed=0, horizon=2, lookback=6).fit(AIRLINE)
    interval = forecaster.predict(coverage=0.8, method="mc_dropout", samples=16)
    assert (interval["upper"] - interval["lower"] > 0).all()


def test_mc_dropout_needs_dropout():
    forecaster = Forecaster(model=functools.partial(default_model, units=4), epochs=1, horizon=2, lookback=6)
    forecaster.fit(AIRLINE)
    with pytest.raises(ValueError, match="method='mc_dropout' needs a model with dropout"):
        forecaster.predict(coverage=0.9, method="mc_dropout")
    with pytest.raises(ValueError, match="Unknown interval method: 'mc'"):
        forecaster.predict(coverage=0.9, method="mc")
