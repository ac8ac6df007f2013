"""``Forecaster``: fit a recurrent model to a series, backtest it honestly, and forecast beyond the data with
intervals, in the series' own units and timestamps."""

from __future__ import annotations

import sys

import numpy as np

from lstmkit.forecasting import backtest as backtests
from lstmkit.forecasting.baselines import baseline_forecasts
from lstmkit.forecasting.data import prepare_data
from lstmkit.forecasting.engine import Plan, fit_state, forecast
from lstmkit.forecasting.intervals import DropoutPredictor, check_coverage, conformal_quantiles, min_cuts
from lstmkit.forecasting.timeindex import FILL_METHODS, format_time, require_pandas
from lstmkit.forecasting.transforms import make_scaler
from lstmkit.utils.checks import check_int, check_number
from lstmkit.utils.naming import lookup

__all__ = ["Forecaster"]

STRATEGIES = {"direct": "direct", "recursive": "recursive"}
INTERVAL_METHODS = {"conformal": "conformal", "mc_dropout": "mc_dropout"}


def _choice(name, value, allowed):
    """``value`` if it is one of ``allowed`` with the same type (so that False is not taken for 0)."""
    if not any(type(value) is type(option) and value == option for option in allowed):
        shown = ", ".join(repr(v) for v in allowed)
        raise ValueError(f"Forecaster: {name} must be one of {shown}. Received: {name}={value!r}")
    return value


class Forecaster:
    """One object for the whole forecasting job on a series.

    Args:
        lookback: steps of history per input window. None: two seasonal periods when one is known, else
            ``max(10, 2 * horizon)``.
        horizon: steps to forecast. None: one seasonal period when known, else 1.
        strategy: 'direct' (default: the model outputs all ``horizon`` steps at once; no error feeds back)
            or 'recursive' (the model predicts one step, fed back ``horizon`` times).
        model: None (the default ``LSTM(32) -> Dense``, see ``default_model``), a function
            ``(input_shape, outputs) -> compiled lstmkit model``, or an lstmkit model (copied, untrained, for
            every fit).
        scaler: 'standard', 'minmax', None, or a scikit-learn transformer (cloned for every fit), over the
            target's changes and the covariates; the target column alone is inverted.
        log: model the log of the target (for positive series whose swings grow with their level).
        difference: 0, 1, or 'auto' (1 when a KPSS test finds the level non-stationary).
        seasonal_difference: True, False or 'auto' (True when the seasonal pattern is strong); model
            ``y[t] - y[t - seasonal_period]``.
        seasonal_period: steps per season; None: inferred from the time index (12 for monthly data, 7 for
            daily, 24 for hourly, ...). Used by the seasonal difference, the seasonal-naive baseline and MASE.
        covariates: columns of a DataFrame that are extra inputs (their future values are needed when
            predictions are fed back).
        target: the column to forecast (None: the only numeric column). time: a column holding the dates
            (None: the index). fill: None (refuse gaps and missing values) or 'interpolate', 'ffill',
            'bfill', 'zero'.
        epochs, batch_size, validation_split, callbacks: passed to ``model.fit`` at every fit.
        seed: seeds every fit (the same seed for each), for reproducible results; None: the global state.
        verbose: 1 prints a line per fit.

    After ``fit``: ``model_`` (the trained model), ``history_`` (its History), ``transform_`` (the fitted
    transforms), ``plan_`` (the resolved lookback, horizon, seasonal period), ``backtest_`` (the last backtest).
    """

    def __init__(
        self,
        lookback=None,
        horizon=None,
        strategy="direct",
        model=None,
        scaler="standard",
        log=False,
        difference="auto",
        seasonal_difference="auto",
        seasonal_period=None,
        covariates=None,
        target=None,
        time=None,
        fill=None,
        epochs=100,
        batch_size=16,
        validation_split=0.0,
        callbacks=None,
        seed=None,
        verbose=0,
    ):
        self.lookback = check_int(lookback, "lookback", 1, allow_none=True, owner="Forecaster")
        self.horizon = check_int(horizon, "horizon", 1, allow_none=True, owner="Forecaster")
        self.strategy = lookup("strategy", strategy, STRATEGIES)
        self.model = model
        make_scaler(scaler)  # refuses an unknown name or an object that is not a transformer, now
        self.scaler = scaler
        self.log = bool(_choice("log", log, (False, True)))
        self.difference = _choice("difference", difference, (0, 1, "auto"))
        self.seasonal_difference = _choice("seasonal_difference", seasonal_difference, (False, True, "auto"))
        self.seasonal_period = check_int(
            seasonal_period, "seasonal_period", 2, allow_none=True, owner="Forecaster"
        )
        self.covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
        self.target, self.time = target, time
        self.fill = _choice("fill", fill, (None,) + FILL_METHODS)
        self.epochs = check_int(epochs, "epochs", 1, owner="Forecaster")
        self.batch_size = check_int(batch_size, "batch_size", 1, owner="Forecaster")
        self.validation_split = check_number(
            validation_split, "validation_split", 0, 1, exclusive_maximum=True, owner="Forecaster"
        )
        self.callbacks = callbacks
        self.seed = check_int(seed, "seed", 0, allow_none=True, owner="Forecaster")
        self.verbose = verbose
        self.state_ = self.data_ = self.plan_ = self.backtest_ = None

    # ------------------------------------------------------------------ helpers
    def _say(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stdout, flush=True)

    def _prepare(self, data):
        return prepare_data(data, self.target, self.covariates, self.time, self.fill)

    def _plan(self, data, horizon=None) -> Plan:
        season = self.seasonal_period or data.axis.seasonal_period
        horizon = horizon or self.horizon or season or 1
        lookback = self.lookback or (2 * season if season else max(10, 2 * horizon))
        return Plan(lookback, horizon, self.strategy, season, data.covariates.shape[1])

    def _min_rows(self, plan: Plan) -> int:
        """Rows a fit needs for a dozen windows, counting the most that differencing may use up."""
        lost = (plan.seasonal_period or 0) * (self.seasonal_difference is not False) + (self.difference != 0)
        return lost + plan.lookback + plan.outputs + 11

    def _require_fit(self, action: str) -> None:
        if self.state_ is None:
            raise ValueError(f"Forecaster.{action}: fit the Forecaster first: forecaster.fit(data).")

    @property
    def model_(self):
        self._require_fit("model_")
        return self.state_.model

    @property
    def history_(self):
        self._require_fit("history_")
        return self.state_.history

    @property
    def transform_(self):
        self._require_fit("transform_")
        return self.state_.transform

    # ------------------------------------------------------------------ the life-cycle
    def fit(self, data) -> Forecaster:
        """Fit the transforms and train the model on all of ``data`` (a Series, a DataFrame or an array)."""
        self.data_ = self._prepare(data)
        self.plan_ = self._plan(self.data_)
        self._say(
            f"fit: {len(self.data_)} rows, lookback {self.plan_.lookback}, horizon {self.plan_.horizon}"
        )
        self.state_ = fit_state(self, self.data_, self.plan_)
        self._say(f"  trained in {self.state_.seconds:.1f} s")
        return self

    def _future_covariates(self, covariates, steps: int):
        if not self.plan_.n_covariates:
            if covariates is not None:
                raise ValueError(
                    "Forecaster.predict: covariates= given, but the Forecaster has no covariates."
                )
            return None
        if covariates is None:
            return None
        if steps <= self.plan_.outputs:
            raise ValueError(
                f"Forecaster.predict: covariates= would not be used: the model forecasts {steps} step(s) from the "
                f"past window alone. Future covariate values are needed only when predictions are fed back "
                f"(strategy='recursive', or more than {self.plan_.outputs} steps); leave covariates out."
            )
        if hasattr(covariates, "columns"):
            missing = [c for c in self.covariates if c not in covariates.columns]
            if missing:
                raise ValueError(f"Forecaster.predict: covariates lacks the column(s) {missing}.")
            covariates = covariates[self.covariates]
        values = np.asarray(covariates, dtype=np.float64).reshape(len(covariates), -1)
        if values.shape[1] != self.plan_.n_covariates or len(values) < steps:
            raise ValueError(
                f"Forecaster.predict: covariates must hold the future values of {self.covariates} for the {steps} "
                f"forecast steps: shape ({steps}, {self.plan_.n_covariates}). Received shape {values.shape}."
            )
        return values[:steps]

    def predict(self, horizon=None, coverage=None, method="conformal", samples=200, covariates=None):
        """Forecast beyond the fitted data.

        Args:
            horizon: steps to forecast (default: the Forecaster's horizon). Beyond it, the direct model's
                outputs are fed back in blocks.
            coverage: e.g. 0.9 for a 90 % interval; None for point forecasts only.
            method: 'conformal' (from backtest errors per step; runs ``calibrate`` first when no backtest
                of this data is at hand) or 'mc_dropout' (``samples`` passes with dropout on).
            covariates: the covariates' future values (a DataFrame with those columns, or ``(steps, k)``),
                needed when predictions are fed back.

        Returns:
            A pandas Series named after the target, indexed by the future timestamps; with ``coverage``, a
            DataFrame with columns ``forecast``, ``lower``, ``upper``.
        """
        self._require_fit("predict")
        pd = require_pandas()
        steps = check_int(horizon, "horizon", 1, allow_none=True, owner="predict") or self.plan_.horizon
        method = lookup("interval method", method, INTERVAL_METHODS)
        future = self._future_covariates(covariates, steps)
        futures = None if future is None else [future]
        point = forecast(self.state_, self.plan_, [self.data_], steps, futures)[0]
        index = self.data_.axis.future(self.data_.index[-1], steps)
        if coverage is None:
            return pd.Series(point, index=index, name=self.data_.target_name)
        if method == "conformal":
            half = self._conformal_halfwidths(coverage, steps)
            lower, upper = point - half, point + half
        else:
            lower, upper = self._sample_interval(
                self.state_, self.plan_, self.data_, steps, coverage, future, samples
            )
        return pd.DataFrame({"forecast": point, "lower": lower, "upper": upper}, index=index)

    # ------------------------------------------------------------------ intervals
    def _conformal_halfwidths(self, coverage, steps: int) -> np.ndarray:
        if steps > self.plan_.horizon:
            raise ValueError(
                f"Forecaster.predict: conformal intervals are calibrated per step up to the horizon "
                f"({self.plan_.horizon}); for {steps} steps, use Forecaster(horizon={steps})."
            )
        result = self.backtest_
        usable = (
            result is not None
            and result.fingerprint == self.data_.fingerprint()
            and result.horizon == self.plan_.horizon
            and len(result.cuts) >= min_cuts(coverage)
        )
        if not usable:
            result = self.calibrate(coverage)
        return conformal_quantiles(result.residuals[:, :steps], coverage)

    def _sample_interval(self, state, plan, history, steps, coverage, future=None, samples=200):
        """The MC-dropout interval: quantiles of ``samples`` forecasts with dropout on."""
        samples = check_int(samples, "samples", 2, owner="predict")
        coverage = check_coverage(coverage)
        predictor = DropoutPredictor(state.model)
        paths = forecast(
            state, plan, [history] * samples, steps, None if future is None else [future] * samples, predictor
        )
        tail = (1 - coverage) / 2
        return np.quantile(paths, tail, axis=0), np.quantile(paths, 1 - tail, axis=0)

    def calibrate(self, coverage=0.9, refit=False):
        """Backtest on the fitted data with enough cuts for a ``coverage`` conformal interval (trains once
        with ``refit=False``) and keep its errors for ``predict(coverage=...)``."""
        self._require_fit("calibrate")
        cuts = max(backtests.DEFAULT_CUTS, min_cuts(coverage))
        start = len(self.data_) - self.plan_.horizon - cuts + 1
        min_rows = self._min_rows(self.plan_)
        if start < min_rows:
            needed = min_rows + cuts - 1 + self.plan_.horizon
            raise ValueError(
                f"Forecaster: {coverage:.0%} conformal intervals are calibrated on a backtest of {cuts} cuts of the "
                f"fitted data, each cut trained on the rows before it; that needs about {needed} rows, and the data "
                f"has {len(self.data_)}. Use a shorter lookback= or horizon=, more data, or method='mc_dropout' "
                "with a model that has dropout."
            )
        self._say(f"calibrate: backtest over the last {cuts} cuts for {coverage:.0%} intervals")
        return self.backtest(start=start, refit=refit)

    # ------------------------------------------------------------------ evaluation
    def backtest(
        self, data=None, start=None, stride=1, refit=True, horizon=None, coverage=None, method="conformal"
    ):
        """Rolling-origin backtest: see ``lstmkit.forecasting.backtest``. ``data`` defaults to the fitted
        data; ``start``: the first cut (row position, negative from the end, fraction, or the timestamp of
        its first forecast; default: the last 10 cuts); ``refit``: True, False or k; ``coverage``: also check
        intervals of that coverage on the backtest (conformal: each cut calibrated on the others).
        Returns a ``BacktestResult``, also kept as ``backtest_`` for ``predict``'s conformal intervals."""
        if data is None:
            self._require_fit("backtest")
            series = self.data_
        else:
            series = self._prepare(data)
        method = lookup("interval method", method, INTERVAL_METHODS)
        plan = self._plan(series, check_int(horizon, "horizon", 1, allow_none=True, owner="backtest"))
        backtests.refit_every(refit)
        cuts = backtests.choose_cuts(series, plan.horizon, start, stride, self._min_rows(plan))
        result = backtests.run_backtest(self, series, plan, cuts, refit, coverage, method)
        self.backtest_ = result
        return result

    def score(self, actual, metric=None, covariates=None):
        """Score the forecast of the steps that follow the fitted data against their ``actual`` values.

        Returns a DataFrame (rows: model and baselines; columns: MAE, RMSE, MAPE, sMAPE, MASE), or the
        model's value of ``metric`` (e.g. 'RMSE')."""
        self._require_fit("score")
        values, index = self._actual_values(actual)
        predicted = self.predict(len(values), covariates=covariates)
        if index is not None and not predicted.index.equals(index):
            raise ValueError(
                f"Forecaster.score: the actual values start at {format_time(index[0])}, but the forecast starts "
                f"at {format_time(predicted.index[0])} (right after the fitted data). Pass the values that follow "
                "the data."
            )
        history = self.data_.target
        methods = {"model": predicted.to_numpy()[None]}
        for name, values_ in baseline_forecasts(history, len(values), self.plan_.seasonal_period).items():
            methods[name] = values_[None]
        table = backtests.score_table(values[None], methods, [history], self.plan_.seasonal_period)
        if metric is None:
            return table
        if metric not in table.columns:
            raise ValueError(f"metric must be one of {', '.join(table.columns)}. Received: {metric!r}")
        return float(table.loc["model", metric])

    def _actual_values(self, actual):
        pd = require_pandas()
        if isinstance(actual, pd.DataFrame):
            column = self.data_.target_name
            if column not in actual.columns:
                raise ValueError(f"Forecaster.score: the actual values lack the target column {column!r}.")
            actual = actual[column]
        index = actual.index if isinstance(actual, pd.Series) and self.data_.axis.kind == "datetime" else None
        values = np.asarray(actual, dtype=np.float64).ravel()
        if len(values) == 0:
            raise ValueError("Forecaster.score: no actual values to score against.")
        return values, index

    # ------------------------------------------------------------------ display and files
    def plot(self, coverage=0.9, backtest=None, path=None, history=None):
        """A matplotlib Figure: the history, the backtest forecasts, the forecast with its interval band.
        See ``lstmkit.forecasting.plotting.plot_forecast``."""
        from lstmkit.forecasting.plotting import plot_forecast

        self._require_fit("plot")
        return plot_forecast(self, coverage=coverage, backtest=backtest, path=path, history=history)

    def save(self, path) -> None:
        """Write the fitted Forecaster (settings, transforms, data, model, backtest errors) to one file."""
        from lstmkit.forecasting.persistence import save_forecaster

        self._require_fit("save")
        save_forecaster(self, path)

    @classmethod
    def load(cls, path) -> Forecaster:
        """A Forecaster saved by ``save``, ready to ``predict``."""
        from lstmkit.forecasting.persistence import load_forecaster

        return load_forecaster(path)

    def __repr__(self) -> str:
        settings = (
            f"lookback={self.lookback}, horizon={self.horizon}, strategy={self.strategy!r}, "
            f"epochs={self.epochs}, seed={self.seed}"
        )
        state = "fitted" if self.state_ is not None else "not fitted"
        return f"Forecaster({settings}) [{state}]"
