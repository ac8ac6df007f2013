"""Rolling-origin backtests: the scaler at each cut has seen only the past; refit=False trains once,
refit=True at every cut, refit=k every k-th; baselines on the same cuts; a model that copies the last value
scores exactly as the naive baseline."""

import math

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecasting import Forecaster
from lstmkit.layers import LSTM, Dense, Flatten, Input
from lstmkit.models import Sequential
from lstmkit.optimizers import SGD


@pytest.fixture
def level_shift(rng):
    """80 days around 0, then 40 days around 50: a scaler that saw the later part would have a mean near 17."""
    values = np.r_[rng.normal(0, 1, 80), rng.normal(50, 1, 40)]
    return pd.Series(values, index=pd.date_range("2021-01-01", periods=120, freq="D"), name="y")


def counting_builder(counter):
    def build(input_shape, outputs):
        counter.append(1)
        model = Sequential([Input(input_shape), LSTM(3), Dense(outputs)])
        model.compile(optimizer="adam", loss="mse")
        return model

    return build


def plain(counter, **settings):
    """No differencing: the scaler is fitted on the raw values, so its mean is the past's mean."""
    defaults = {
        "lookback": 5,
        "horizon": 3,
        "difference": 0,
        "seasonal_difference": False,
        "epochs": 1,
        "seed": 0,
    }
    return Forecaster(model=counting_builder(counter), **{**defaults, **settings})


@pytest.mark.parametrize("refit", [True, False, 2])
def test_scaler_at_each_cut_saw_only_the_past_and_fits_are_counted(level_shift, refit):
    fits = []
    cuts = list(range(60, 118, 8))  # 60, 68, ..., 116: the later cuts are inside the shifted level
    result = plain(fits).backtest(level_shift, start=60, stride=8, refit=refit)
    assert [c["position"] for c in result.cuts] == cuts
    every = {True: 1, False: None, 2: 2}[refit]
    expected_fits = len(cuts) if every == 1 else 1 if every is None else math.ceil(len(cuts) / every)
    assert result.fits == len(fits) == expected_fits
    values = level_shift.to_numpy()
    for i, cut in enumerate(result.cuts):
        fitted_at = cuts[0] if every is None else cuts[(i // every) * every]
        assert cut["refit"] == (cut["position"] == fitted_at) and cut["fitted_at"] == fitted_at
        scaler = cut["transform"]["scaler_state"]
        assert scaler["mean_"] == pytest.approx([values[:fitted_at].mean()])  # the past of its fit only
        assert scaler["scale_"] == pytest.approx([values[:fitted_at].std()])
        assert fitted_at <= cut["position"]
    assert result.cuts[0]["transform"]["scaler_state"]["mean_"][0] < 1  # never near the full-data mean 16.7


def test_forecast_rows_actuals_and_baselines_on_the_same_cuts(level_shift):
    result = plain([]).backtest(level_shift, start=100, stride=5, refit=False)
    table = result.forecasts
    assert list(table.columns) == [
        "origin",
        "step",
        "time",
        "actual",
        "model",
        "naive",
        "seasonal_naive",
        "drift",
        "mean",
    ]
    values = level_shift.to_numpy()
    for cut in (100, 105, 110, 115):
        rows = table[table["origin"] == level_shift.index[cut - 1]]
        assert list(rows["time"]) == list(level_shift.index[cut : cut + 3])
        np.testing.assert_array_equal(rows["actual"], values[cut : cut + 3])
        np.testing.assert_array_equal(rows["naive"], [values[cut - 1]] * 3)
        np.testing.assert_array_equal(
            rows["seasonal_naive"], values[cut - 7 : cut - 4]
        )  # daily: a week earlier
        np.testing.assert_allclose(rows["mean"], [values[:cut].mean()] * 3)
    assert result.residuals.shape == (4, 3)
    np.testing.assert_allclose(result.residuals.ravel(), table["actual"] - table["model"])
    assert list(result.metrics.index) == ["model", "naive", "seasonal_naive", "drift", "mean"]
    assert result.errors_by_step("RMSE").shape == (3, 5)
    summary = result.summary()
    assert "4 cut(s), horizon 3, 1 model fit(s) (refit=False)" in summary and "seasonal_naive" in summary


def test_a_model_that_copies_the_last_value_scores_exactly_as_naive(level_shift):
    def persistence(input_shape, outputs):
        """Dense on the flattened window with weight 1 on the last value: every output repeats it; a zero
        learning rate keeps it so through fit."""
        model = Sequential([Input(input_shape), Flatten(), Dense(outputs)])
        kernel = np.zeros((input_shape[0], outputs))
        kernel[-1] = 1.0
        model.set_weights([kernel, np.zeros(outputs)])
        model.compile(optimizer=SGD(learning_rate=0.0), loss="mse")
        return model

    forecaster = Forecaster(
        model=persistence,
        lookback=4,
        horizon=3,
        difference=0,
        seasonal_difference=False,
        scaler=None,
        epochs=1,
    )
    result = forecaster.backtest(level_shift, start=70, refit=False)
    pd.testing.assert_series_equal(
        result.metrics.loc["model"], result.metrics.loc["naive"], check_names=False, rtol=1e-6
    )


def test_default_cuts_start_and_errors(level_shift):
    forecaster = plain([], epochs=1)
    default = forecaster.backtest(level_shift, refit=False)
    assert [c["position"] for c in default.cuts] == list(
        range(108, 118)
    )  # the last 10 cuts, n - horizon last
    by_time = forecaster.backtest(level_shift, start="2021-04-20", stride=4, refit=False)
    assert by_time.cuts[0]["position"] == 109 and by_time.forecasts["time"].iloc[0] == pd.Timestamp(
        "2021-04-20"
    )
    assert forecaster.backtest(level_shift, start=-5, refit=False).cuts[0]["position"] == 115
    assert forecaster.backtest(level_shift, start=0.95, refit=False).cuts[0]["position"] == 114
    with pytest.raises(ValueError, match="the first cut at row 10 leaves 10 rows to train on"):
        forecaster.backtest(level_shift, start=10)
    with pytest.raises(ValueError, match="fewer than horizon=3 rows to forecast"):
        forecaster.backtest(level_shift, start=119)
    with pytest.raises(ValueError, match="is not a timestamp of the data"):
        forecaster.backtest(level_shift, start="1999-01-01")
    with pytest.raises(ValueError, match="refit must be True .*Received: refit='yes'"):
        forecaster.backtest(level_shift, refit="yes")
