"""SeriesTransform: log, differencing and scaling invert exactly; a multi-column scaler inverts the target
alone; scikit-learn transformers are accepted; the automatic differencing choices; KPSS against statsmodels."""

import numpy as np
import pytest

from lstmkit.forecasting import AIRLINE_PASSENGERS, MinMaxScaler, StandardScaler
from lstmkit.forecasting.stationarity import choose_differences, kpss_statistic, seasonal_strength
from lstmkit.forecasting.transforms import SeriesTransform

AIRLINE = np.asarray(AIRLINE_PASSENGERS, dtype=np.float64)


def _round_trip(transform, series, covariates, cut):
    """Fit on series[:cut]; the scaled target rows of the future, inverted from the past, give the future."""
    transform.fit(series[:cut], covariates[:cut])
    rows = transform.inputs(series, covariates)
    future_rows = rows[-(len(series) - cut) :, 0]
    return transform.inverse(future_rows, series[:cut])


@pytest.mark.parametrize(
    ("log", "difference", "seasonal", "scaler"),
    [
        (False, 0, False, "standard"),
        (True, 1, False, "minmax"),
        (True, 0, True, "standard"),
        (False, 1, True, None),
    ],
)
def test_transforms_invert_exactly(log, difference, seasonal, scaler, rng):
    covariates = rng.normal(size=(len(AIRLINE), 2)) * [1, 100]
    transform = SeriesTransform(log, difference, seasonal, 12, scaler)
    restored = _round_trip(transform, AIRLINE, covariates, 120)
    np.testing.assert_allclose(restored, AIRLINE[120:], rtol=1e-10)
    assert transform.lost_rows == 12 * seasonal + difference


def test_scaler_parameters_come_from_the_fitted_history_only():
    transform = SeriesTransform(False, 0, False, None, "standard").fit(AIRLINE[:60], np.zeros((60, 0)))
    np.testing.assert_allclose(transform.scaler_.mean_, [AIRLINE[:60].mean()])
    np.testing.assert_allclose(transform.scaler_.scale_, [AIRLINE[:60].std()])
    minmax = SeriesTransform(False, 0, False, None, "minmax").fit(AIRLINE[:60], np.zeros((60, 0)))
    assert minmax.state()["scaler_state"]["data_max_"] == [AIRLINE[:60].max()]


def test_built_in_scalers_match_scikit_learn(rng):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    x = rng.normal(size=(30, 3)) * [1, 10, 100] + [0, 5, -3]
    for ours, theirs in [
        (StandardScaler(), preprocessing.StandardScaler()),
        (MinMaxScaler(), preprocessing.MinMaxScaler()),
        (MinMaxScaler((-1, 1)), preprocessing.MinMaxScaler((-1, 1))),
    ]:
        np.testing.assert_allclose(ours.fit(x).transform(x), theirs.fit(x).transform(x), rtol=1e-12)


def test_scikit_learn_transformer_on_several_columns_inverts_the_target_alone(rng):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    covariates = rng.normal(size=(len(AIRLINE), 2)) * 50
    user_scaler = preprocessing.RobustScaler()
    transform = SeriesTransform(False, 0, True, 12, user_scaler)
    restored = _round_trip(transform, AIRLINE, covariates, 120)
    np.testing.assert_allclose(restored, AIRLINE[120:], rtol=1e-10)
    assert transform.scaler_ is not user_scaler and not hasattr(user_scaler, "center_")  # cloned, not fitted
    assert set(transform.state()["scaler_state"]) >= {"center_", "scale_"}


def test_a_scaler_that_mixes_columns_is_refused(rng):
    decomposition = pytest.importorskip("sklearn.decomposition")
    covariates = rng.normal(size=(len(AIRLINE), 1))
    with pytest.raises(ValueError, match="mixes columns"):
        SeriesTransform(False, 0, False, None, decomposition.PCA(n_components=2)).fit(AIRLINE, covariates)
    with pytest.raises(TypeError, match="lacks fit, transform, inverse_transform"):
        SeriesTransform(False, 0, False, None, object()).fit(AIRLINE, covariates)


def test_log_needs_positive_values():
    with pytest.raises(ValueError, match=r"log=True needs positive values, but the target's minimum is -1"):
        SeriesTransform(True, 0, False, None, "standard").fit(np.array([3.0, -1.0, 2.0]), np.zeros((3, 0)))


def test_kpss_statistic_matches_statsmodels(rng):
    stattools = pytest.importorskip("statsmodels.tsa.stattools")
    import warnings

    for series in (AIRLINE, np.cumsum(rng.normal(size=200)), rng.normal(size=150)):
        for lags in (None, 5):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # statsmodels: p-value outside its table
                expected = stattools.kpss(series, regression="c", nlags="legacy" if lags is None else lags)[0]
            assert kpss_statistic(series, lags) == pytest.approx(expected, rel=1e-10)


def test_automatic_differencing_choices(rng):
    t = np.arange(240)
    # airline: a strong seasonal pattern, and its year-on-year changes are stationary enough
    assert choose_differences(AIRLINE, 12) == (True, 0)
    assert choose_differences(np.log(AIRLINE), 12) == (True, 0)
    assert choose_differences(AIRLINE, None) == (
        False,
        1,
    )  # no period known: a first difference for the trend
    assert choose_differences(0.05 * t + rng.normal(size=240), 12) == (False, 1)  # a trend
    assert choose_differences(rng.normal(size=240), 12) == (False, 0)  # white noise: nothing to do
    sine = np.sin(2 * np.pi * t / 12)
    # a pure sine keeps all of its pattern: the lag-12 autocorrelation of the 228 values the moving average
    # leaves is (228 - 12) / 228 (the usual estimator divides every lag's sum by all 228 terms)
    assert seasonal_strength(sine, 12) == pytest.approx((228 - 12) / 228, rel=1e-9)
    assert abs(seasonal_strength(rng.normal(size=240), 12)) < 0.2
