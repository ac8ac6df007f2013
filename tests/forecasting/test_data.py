"""Reading series: forecast timestamps continue monthly, month-end, daily, hourly and integer indexes; gaps and
every other kind of bad input get an error that says what to change."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecasting import Forecaster
from lstmkit.forecasting.data import prepare_data


def _series(freq, periods=60, start="2021-01-01"):
    index = pd.date_range(start, periods=periods, freq=freq)
    return pd.Series(np.sin(np.arange(periods) / 3.0) + np.arange(periods) / 10, index=index, name="load")


@pytest.mark.parametrize(
    ("freq", "start", "expected", "period"),
    [
        ("MS", "2021-01-01", ["2026-01-01", "2026-02-01", "2026-03-01"], 12),
        ("ME", "2021-01-31", ["2026-01-31", "2026-02-28", "2026-03-31"], 12),
        ("D", "2021-01-01", ["2021-03-02", "2021-03-03", "2021-03-04"], 7),
        ("h", "2021-03-27 12:00", ["2021-03-30 00:00", "2021-03-30 01:00", "2021-03-30 02:00"], 24),
    ],
)
def test_forecast_timestamps_continue_the_index(freq, start, expected, period):
    series = _series(freq, start=start)
    forecaster = Forecaster(horizon=3, lookback=4, epochs=1, seed=0).fit(series)
    forecast = forecaster.predict()
    assert list(forecast.index) == list(pd.to_datetime(expected))
    assert forecast.name == "load" and forecast.index.freqstr == series.index.freqstr
    assert forecaster.plan_.seasonal_period == period


def test_integer_index_continues_with_its_step():
    data = pd.Series(np.arange(40.0) ** 1.2, index=pd.RangeIndex(100, 500, 10))
    forecast = Forecaster(horizon=3, lookback=4, epochs=1, seed=0).fit(data).predict()
    assert list(forecast.index) == [500, 510, 520]
    assert list(Forecaster(horizon=2, lookback=3, epochs=1).fit(np.arange(30.0) ** 1.1).predict().index) == [
        30,
        31,
    ]


def test_a_gap_is_reported_and_filled_on_request():
    series = _series("D", periods=30).drop(pd.to_datetime(["2021-01-05", "2021-01-06", "2021-01-20"]))
    with pytest.raises(
        ValueError, match=r"has gaps: it steps every D, but 3 timestamp\(s\) are missing"
    ) as error:
        prepare_data(series)
    assert "2021-01-05" in str(error.value) and "fill='interpolate'" in str(error.value)
    filled = prepare_data(series, fill="interpolate")
    assert len(filled) == 30 and filled.inserted == 3 and filled.filled == 3
    before, after = series["2021-01-04"], series["2021-01-07"]
    assert filled.target[4] == pytest.approx(before + (after - before) / 3)  # linear in time
    assert prepare_data(series, fill="ffill").target[5] == before


def test_missing_values_are_reported_and_filled_on_request():
    series = _series("MS", periods=24)
    series.iloc[[3, 10]] = np.nan
    with pytest.raises(ValueError, match=r"'load' has 2 missing value\(s\) \(at 2021-04-01, 2021-11-01\)"):
        prepare_data(series)
    assert prepare_data(series, fill="zero").target[3] == 0.0


def test_time_column_is_parsed_and_bad_dates_are_reported():
    frame = pd.DataFrame({"when": [f"2020-{m:02d}-01" for m in range(1, 13)], "sales": np.arange(12.0) ** 2})
    data = prepare_data(frame, time="when")
    assert data.axis.freq == "MS" and data.target_name == "sales"
    frame.loc[4, "when"] = "May 2020?"
    with pytest.raises(
        ValueError, match=r"the time column 'when' has values that are not dates \('May 2020\?'"
    ):
        prepare_data(frame, time="when")
    with pytest.raises(ValueError, match="Did you mean 'when'"):
        prepare_data(frame, time="wen")


def test_target_must_be_numeric_and_named_when_ambiguous():
    labels = pd.DataFrame({"city": ["a", "b", "c"] * 5}, index=pd.date_range("2020", periods=15, freq="D"))
    with pytest.raises(
        ValueError, match=r"no numeric column to forecast; the columns are 'city' \((object|str)"
    ):
        prepare_data(labels)
    with pytest.raises(TypeError, match=r"the target column 'city' is not numeric: it holds 'a', 'b', 'c'"):
        prepare_data(labels, target="city")
    two = pd.DataFrame({"a": np.arange(15.0), "b": np.arange(15.0) ** 2}, index=labels.index)
    with pytest.raises(ValueError, match=r"several numeric columns \('a', 'b'\); name the one to forecast"):
        prepare_data(two)
    with pytest.raises(ValueError, match="Unknown target column: 'c'"):
        prepare_data(two, target="c")
    assert prepare_data(two, target="b", covariates=["a"]).covariates.shape == (15, 1)


def test_constant_series_duplicates_and_disorder_are_refused():
    index = pd.date_range("2020-01-01", periods=20, freq="D")
    with pytest.raises(ValueError, match=r"the target 'y' is constant \(every value is 5\)"):
        prepare_data(pd.Series(5.0, index=index, name="y"))
    with pytest.raises(ValueError, match=r"repeated timestamps \(2020-01-03"):
        prepare_data(pd.Series(np.arange(21.0), index=index.insert(3, index[2])))
    with pytest.raises(ValueError, match=r"not in time order; sort it first"):
        prepare_data(pd.Series(np.arange(20.0), index=index[::-1]))
    irregular = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-04 07:00", "2020-01-09", "2020-02-11"])
    with pytest.raises(ValueError, match="is irregular"):
        prepare_data(pd.Series(np.arange(5.0), index=irregular))


def test_too_few_rows_for_lookback_and_horizon():
    series = _series("MS", periods=30)
    with pytest.raises(
        ValueError, match=r"has 30 rows, too few: one training window needs lookback 24 \+ 12"
    ):
        Forecaster(seasonal_difference=True, epochs=1).fit(series)
    with pytest.raises(ValueError, match=r"Use a shorter lookback= or horizon=, or more data"):
        Forecaster(lookback=20, horizon=15, epochs=1).fit(series)
