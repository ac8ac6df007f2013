"""recursive_forecast against hand-written feed-back loops.

The linear models (Flatten -> Dense with set weights) are autoregressions whose forecasts NumPy computes
exactly; the LSTM case compares with a loop that calls model.predict one step at a time.
"""

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecasting import recursive_forecast
from lstmkit.layers import LSTM, Dense, Flatten, Input
from lstmkit.models import Sequential


def linear_model(lookback, features, outputs, rng):
    """Flatten -> Dense(outputs): output = window.reshape(-1) @ kernel + bias. Returns (model, kernel, bias)."""
    model = Sequential([Input((lookback, features)), Flatten(), Dense(outputs)])
    kernel = rng.normal(scale=0.3, size=(lookback * features, outputs))
    bias = rng.normal(scale=0.1, size=outputs)
    model.set_weights([kernel, bias])
    return model, kernel, bias


def test_univariate_equals_numpy_autoregression(rng):
    model, kernel, bias = linear_model(3, 1, 1, rng)
    series = rng.normal(size=10)
    expected, window = [], list(series[-3:])
    for _ in range(7):  # the hand-written loop: predict, append, drop the oldest
        value = np.array(window[-3:]) @ kernel[:, 0] + bias[0]
        expected.append(value)
        window.append(value)
    forecast = recursive_forecast(model, series[-3:], 7)
    assert forecast.shape == (7,)
    np.testing.assert_allclose(forecast, expected, rtol=1e-5, atol=1e-5)
    # the same window given as (lookback, 1) gives the same forecast
    np.testing.assert_allclose(recursive_forecast(model, series[-3:, None], 7), forecast, rtol=1e-6)


def test_multivariate_target_with_known_covariates(rng):
    lookback, features, steps, target = 4, 3, 6, 1
    model, kernel, bias = linear_model(lookback, features, 1, rng)
    window = rng.normal(size=(lookback, features))
    covariates = rng.normal(size=(steps, features - 1))  # columns 0 and 2, in window order
    expected, rows = [], [row.copy() for row in window]
    for step in range(steps):
        value = np.concatenate(rows[-lookback:]) @ kernel[:, 0] + bias[0]
        expected.append(value)
        new_row = np.empty(features)
        new_row[target] = value
        new_row[[0, 2]] = covariates[step]
        rows.append(new_row)
    forecast = recursive_forecast(model, window, steps, target=target, covariates=covariates)
    np.testing.assert_allclose(forecast, expected, rtol=1e-5, atol=1e-5)
    # a DataFrame window names the target column
    frame = pd.DataFrame(window, columns=["price", "sales", "promo"])
    named = recursive_forecast(model, frame, steps, target="sales", covariates=covariates)
    np.testing.assert_allclose(named, forecast, rtol=1e-6)


def test_direct_multi_output_model_advances_by_its_width(rng):
    lookback, width, steps = 5, 3, 8  # 3 calls: 3 + 3 + 2 of the third block
    model, kernel, bias = linear_model(lookback, 1, width, rng)
    window = rng.normal(size=lookback)
    expected, history, calls = [], list(window), 0
    while len(expected) < steps:
        block = np.array(history[-lookback:]) @ kernel + bias
        calls += 1
        expected.extend(block)
        history.extend(block)
    forecast = recursive_forecast(model, window, steps)
    assert calls == 3
    np.testing.assert_allclose(forecast, expected[:steps], rtol=1e-5, atol=1e-5)


def test_model_predicting_every_feature_feeds_them_all_back(rng):
    lookback, features, steps = 2, 2, 4
    model, kernel, bias = linear_model(lookback, features, features, rng)
    window = rng.normal(size=(lookback, features))
    rows, expected = [r.copy() for r in window], []
    for _ in range(steps):
        row = np.concatenate(rows[-lookback:]) @ kernel + bias
        expected.append(row)
        rows.append(row)
    forecast = recursive_forecast(model, window, steps)
    assert forecast.shape == (steps, features)
    np.testing.assert_allclose(forecast, expected, rtol=1e-5, atol=1e-5)


def test_lstm_equals_a_predict_loop_and_batches_of_windows_agree(rng):
    model = Sequential([LSTM(6, input_shape=(4, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    X, y = rng.normal(size=(32, 4, 2)), rng.normal(size=(32, 1))
    model.fit(X, y, epochs=2, verbose=0)
    windows = rng.normal(size=(3, 4, 2))
    covariates = rng.normal(size=(3, 5, 1))
    batch = recursive_forecast(model, windows, 5, target=0, covariates=covariates)
    assert batch.shape == (3, 5)
    for i in range(3):
        window, expected = windows[i].copy(), []
        for step in range(5):
            value = model.predict(window[None], verbose=0)[0, 0]
            expected.append(value)
            window = np.vstack([window[1:], [value, covariates[i, step, 0]]])
        np.testing.assert_allclose(batch[i], expected, rtol=1e-5, atol=1e-6)
        single = recursive_forecast(model, windows[i], 5, target=0, covariates=covariates[i])
        np.testing.assert_allclose(single, expected, rtol=1e-5, atol=1e-6)


def test_covariates_beyond_the_fed_back_rows_are_not_needed(rng):
    model, *_ = linear_model(3, 2, 2, rng)  # two steps per call; 4 steps: only rows 0..1 are fed back
    window = rng.normal(size=(3, 2))
    short = recursive_forecast(model, window, 4, target=0, covariates=rng.normal(size=(2, 1)))
    assert short.shape == (4,)


# ---------------------------------------------------------------------------------------------- errors
def test_window_that_does_not_match_the_model(rng):
    model, *_ = linear_model(3, 1, 1, rng)
    with pytest.raises(ValueError, match=r"the window has 5 steps of 1 feature\(s\), but the model expects"):
        recursive_forecast(model, rng.normal(size=5), 2)
    with pytest.raises(ValueError, match=r"Pass the last 3 rows of the 1 column"):
        recursive_forecast(model, rng.normal(size=(3, 2)), 2, target=0, covariates=np.zeros((2, 1)))


def test_missing_or_misshaped_covariates(rng):
    model, *_ = linear_model(3, 2, 1, rng)
    window = rng.normal(size=(3, 2))
    with pytest.raises(ValueError, match=r"pass covariates= with shape \(4, 1\)"):
        recursive_forecast(model, window, 4, target=0)
    with pytest.raises(
        ValueError, match=r"at least the 3 step\(s\) that are fed back.*Received shape \(2, 1\)"
    ):
        recursive_forecast(model, window, 4, target=0, covariates=np.zeros((2, 1)))
    univariate, *_ = linear_model(3, 1, 1, rng)
    with pytest.raises(ValueError, match="covariates were given, but the window has a single feature"):
        recursive_forecast(univariate, np.zeros(3), 2, covariates=np.zeros((2, 1)))


def test_several_features_without_target_need_a_model_that_predicts_them_all(rng):
    model, *_ = linear_model(3, 2, 1, rng)
    with pytest.raises(ValueError, match=r"with target=None the model must predict all of them: \(n, 2\)"):
        recursive_forecast(model, rng.normal(size=(3, 2)), 2)


def test_bad_target_steps_and_values(rng):
    model, *_ = linear_model(3, 2, 1, rng)
    window = rng.normal(size=(3, 2))
    with pytest.raises(ValueError, match=r"target=5 is out of range for windows of 2 feature\(s\)"):
        recursive_forecast(model, window, 2, target=5)
    with pytest.raises(ValueError, match="target='x' is not a column of the window"):
        recursive_forecast(model, pd.DataFrame(window, columns=["a", "b"]), 2, target="x")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        recursive_forecast(model, window, 0, target=0, covariates=np.zeros((1, 1)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        recursive_forecast(model, np.full((3, 2), np.nan), 2, target=0, covariates=np.zeros((2, 1)))
    with pytest.raises(TypeError, match="non-numeric values"):
        recursive_forecast(model, np.array([["a", "b"]] * 3), 2, target=0)
