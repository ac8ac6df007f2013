"""Forecaster plumbing (few epochs): models given as functions or instances, strategies, covariates, score,
plot, save/load, and argument errors."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecasting import Forecaster, load_airline, recursive_forecast
from lstmkit.layers import LSTM, Dense, Input
from lstmkit.models import Sequential

AIRLINE = load_airline()


def small(**settings):
    return Forecaster(**{"epochs": 2, "seed": 0, **settings})


def test_defaults_on_monthly_data_and_the_fitted_attributes():
    forecaster = small().fit(AIRLINE)
    plan = forecaster.plan_
    assert (plan.lookback, plan.horizon, plan.seasonal_period, plan.strategy) == (24, 12, 12, "direct")
    assert forecaster.model_.output_shape == (None, 12)
    assert len(forecaster.history_.history["loss"]) == 2
    state = forecaster.transform_.state()
    assert (state["seasonal_lag"], state["difference"]) == (12, 0)  # chosen from the data
    forecast = forecaster.predict()
    assert (
        isinstance(forecast, pd.Series)
        and len(forecast) == 12
        and forecast.index[0] == pd.Timestamp("1961-01")
    )
    assert "fitted" in repr(forecaster)


def test_model_from_a_function_or_an_instance_is_trained_fresh():
    calls = []

    def build(input_shape, outputs):
        calls.append((input_shape, outputs))
        model = Sequential([Input(input_shape), LSTM(4), Dense(outputs)])
        model.compile(optimizer="adam", loss="mae")
        return model

    small(model=build, lookback=6, horizon=3, strategy="recursive").fit(AIRLINE)
    assert calls == [((6, 1), 1)]
    mine = Sequential([Input((6, 1)), LSTM(4), Dense(3)])
    mine.compile(optimizer="rmsprop", loss="mae")
    before = [w.copy() for w in mine.get_weights()]
    forecaster = small(model=mine, lookback=6, horizon=3).fit(AIRLINE)
    assert forecaster.model_ is not mine and type(forecaster.model_.optimizer).__name__ == "RMSprop"
    assert all(np.array_equal(a, b) for a, b in zip(before, mine.get_weights()))  # the user's model untouched


def test_a_functional_model_is_copied_and_forecasts():
    import lstmkit as keras

    inputs = keras.Input((6, 1))
    outputs = keras.layers.Dense(3)(keras.layers.LSTM(4)(inputs))
    graph = keras.Model(inputs, outputs)
    graph.compile(optimizer="adam", loss="mse")
    forecaster = small(
        model=graph, lookback=6, horizon=3, difference=0, seasonal_difference=False, scaler=None
    )
    forecaster.fit(AIRLINE)
    assert type(forecaster.model_).__name__ == "Functional" and forecaster.model_ is not graph
    expected = recursive_forecast(forecaster.model_, AIRLINE.to_numpy()[-6:], 3)
    np.testing.assert_allclose(forecaster.predict().to_numpy(), expected, rtol=1e-5)


def test_model_that_does_not_fit_the_windows_is_refused():
    wrong_width = Sequential([Input((6, 1)), LSTM(4), Dense(2)])
    wrong_width.compile(optimizer="adam", loss="mse")
    with pytest.raises(
        ValueError, match=r"outputs \(2,\) per window, but strategy='direct' needs 3 value\(s\)"
    ):
        small(model=wrong_width, lookback=6, horizon=3).fit(AIRLINE)
    with pytest.raises(ValueError, match=r"expects windows of shape \(6, 1\).*Set lookback=6"):
        small(model=wrong_width, lookback=8, horizon=2).fit(AIRLINE)
    uncompiled = Sequential([Input((6, 1)), LSTM(4), Dense(3)])
    with pytest.raises(ValueError, match="is not compiled"):
        small(model=uncompiled, lookback=6, horizon=3).fit(AIRLINE)
    with pytest.raises(TypeError, match="must be None .*, a function"):
        small(model="lstm").fit(AIRLINE)


def test_recursive_strategy_and_forecasts_past_the_direct_horizon():
    recursive = small(strategy="recursive", horizon=4, lookback=12).fit(AIRLINE)
    assert recursive.model_.output_shape == (None, 1) and len(recursive.predict()) == 4
    direct = small(horizon=3, lookback=12, seasonal_difference=False, difference=0, scaler=None).fit(AIRLINE)
    longer = direct.predict(horizon=7)
    # with no transform, the forecast is the model's own outputs fed back three at a time
    expected = recursive_forecast(direct.model_, AIRLINE.to_numpy()[-12:], 7)
    np.testing.assert_allclose(longer.to_numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(direct.predict().to_numpy(), longer.to_numpy()[:3])


def test_covariates_enter_as_features_and_their_future_is_asked_for_when_fed_back(rng):
    n = 120
    frame = pd.DataFrame(
        {"sales": np.sin(np.arange(n) / 4) + 5, "price": rng.normal(size=n)},
        index=pd.date_range("2020-01-01", periods=n, freq="D"),
    )
    direct = small(horizon=5, lookback=7, covariates=["price"]).fit(frame)
    assert direct.model_.input_shape == (None, 7, 2) and len(direct.predict()) == 5
    with pytest.raises(ValueError, match="covariates= would not be used"):
        direct.predict(covariates=np.zeros((5, 1)))
    recursive = small(horizon=5, lookback=7, covariates="price", strategy="recursive").fit(frame)
    with pytest.raises(ValueError, match=r"need the future values of the covariate\(s\) \['price'\]"):
        recursive.predict()
    future = pd.DataFrame({"price": rng.normal(size=5)})
    assert len(recursive.predict(covariates=future)) == 5
    with pytest.raises(ValueError, match=r"shape \(5, 1\). Received shape \(3, 1\)"):
        recursive.predict(covariates=np.zeros((3, 1)))


def test_score_puts_the_model_beside_the_baselines():
    train, test = AIRLINE[:-12], AIRLINE[-12:]
    forecaster = small().fit(train)
    table = forecaster.score(test)
    assert list(table.index) == ["model", "naive", "seasonal_naive", "drift", "mean"]
    assert list(table.columns) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]
    seasonal_naive_rmse = np.sqrt(np.mean((test.to_numpy() - train.to_numpy()[-12:]) ** 2))
    assert table.loc["seasonal_naive", "RMSE"] == pytest.approx(seasonal_naive_rmse)
    assert forecaster.score(test, metric="RMSE") == table.loc["model", "RMSE"]
    with pytest.raises(ValueError, match="the actual values start at 1959-12-01"):
        forecaster.score(AIRLINE[-13:-1])


def test_save_and_load_give_the_same_forecasts(tmp_path):
    forecaster = small().fit(AIRLINE)
    forecaster.backtest(refit=False)
    path = tmp_path / "airline.forecaster"
    forecaster.save(path)
    loaded = Forecaster.load(path)
    pd.testing.assert_series_equal(loaded.predict(), forecaster.predict())
    pd.testing.assert_frame_equal(loaded.predict(coverage=0.8), forecaster.predict(coverage=0.8))
    assert loaded.plan_ == forecaster.plan_ and loaded.seed == 0
    (tmp_path / "bad").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a Forecaster file saved by Forecaster.save"):
        Forecaster.load(tmp_path / "bad")


def test_save_refuses_a_transformer_it_cannot_store_without_pickle(tmp_path):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    forecaster = small(scaler=preprocessing.RobustScaler(), lookback=12, horizon=2).fit(AIRLINE)
    with pytest.raises(ValueError, match="could only be stored with pickle"):
        forecaster.save(tmp_path / "f")


def test_plot_draws_history_backtest_and_band(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    forecaster = small().fit(AIRLINE)
    forecaster.backtest(refit=False)
    path = tmp_path / "forecast.png"
    figure = forecaster.plot(coverage=0.9, path=path)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[0] == "passengers (data)" and "backtest forecasts" in labels and "forecast" in labels
    assert figure.axes[0].collections  # the interval band
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(figure)


def test_argument_errors_teach():
    with pytest.raises(ValueError, match="Unknown strategy: 'direkt'. Did you mean 'direct'"):
        Forecaster(strategy="direkt")
    with pytest.raises(ValueError, match="difference must be one of 0, 1, 'auto'. Received: difference=2"):
        Forecaster(difference=2)
    with pytest.raises(ValueError, match="Unknown scaler: 'standart'. Did you mean 'standard'"):
        Forecaster(scaler="standart")
    with pytest.raises(
        TypeError, match=r"lookback must be a positive integer or None. Received: lookback=2.5"
    ):
        Forecaster(lookback=2.5)
    with pytest.raises(ValueError, match="fit the Forecaster first"):
        Forecaster().predict()
    with pytest.raises(ValueError, match="seasonal_difference=True needs a seasonal period"):
        small(seasonal_difference=True, horizon=2).fit(np.arange(40.0))
