"""What one fit of a Forecaster is, and how it forecasts: the transforms fitted on a history, a model trained on
that history's windows, and forecasts from any later history, inverted to the series' units."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lstmkit.forecasting.data import SeriesData
from lstmkit.forecasting.models import build_model, output_steps
from lstmkit.forecasting.recursive import recursive_forecast
from lstmkit.forecasting.transforms import SeriesTransform
from lstmkit.utils.windows import make_windows

__all__ = ["FittedState", "Plan", "fit_state", "forecast"]


@dataclass(frozen=True)
class Plan:
    """The Forecaster's settings resolved against the data (a seasonal period from its frequency, ...)."""

    lookback: int
    horizon: int
    strategy: str
    seasonal_period: int | None
    n_covariates: int

    @property
    def outputs(self) -> int:
        """Values the model predicts per window."""
        return self.horizon if self.strategy == "direct" else 1

    @property
    def input_shape(self) -> tuple:
        return (self.lookback, 1 + self.n_covariates)


@dataclass
class FittedState:
    """One fit: the transform and model trained on the first ``rows`` rows of a series."""

    transform: SeriesTransform
    model: object
    history: object
    rows: int
    seconds: float


def _too_short(plan: Plan, transform: SeriesTransform, n: int, what: str) -> ValueError:
    lost = transform.lost_rows
    needed = lost + plan.lookback + plan.outputs
    parts = f"lookback {plan.lookback} + {plan.outputs} target step(s)" + (
        f" + {lost} row(s) used up by differencing" if lost else ""
    )
    return ValueError(
        f"{what} has {n} rows, too few: one training window needs {parts} = {needed} rows, and a model needs "
        f"dozens of windows. Use a shorter lookback= or horizon=, or more data."
    )


def fit_state(forecaster, data: SeriesData, plan: Plan, what: str = "The data") -> FittedState:
    """Fit the transforms on ``data``, then train a new model on its windows."""
    from lstmkit.utils.random import set_random_seed

    transform = SeriesTransform(
        forecaster.log,
        forecaster.difference,
        forecaster.seasonal_difference,
        plan.seasonal_period,
        forecaster.scaler,
    )
    transform.fit(data.target, data.covariates)
    rows = transform.inputs(data.target, data.covariates)
    if len(rows) < plan.lookback + plan.outputs:
        raise _too_short(plan, transform, len(data), what)
    X, y = make_windows(rows, plan.lookback, plan.outputs, target_column=0)
    if forecaster.seed is not None:
        set_random_seed(forecaster.seed)
    model = build_model(forecaster.model, plan.input_shape, plan.outputs)
    output_steps(model, plan.input_shape, plan.outputs, plan.strategy)
    start = time.perf_counter()
    history = model.fit(
        X.astype(np.float32),
        y.astype(np.float32),
        epochs=forecaster.epochs,
        batch_size=forecaster.batch_size,
        validation_split=forecaster.validation_split,
        callbacks=forecaster.callbacks,
        verbose=0,
    )
    return FittedState(transform, model, history, len(data), time.perf_counter() - start)


def _needs_feedback(plan: Plan, steps: int) -> bool:
    return steps > plan.outputs


def forecast(state: FittedState, plan: Plan, histories, steps: int, future_covariates=None, predictor=None):
    """Forecasts ``(len(histories), steps)`` in the series' units, one row per history (each a SeriesData
    ending at its forecast origin). ``future_covariates``: per history, ``(steps, k)`` known future values
    (needed with covariates when predictions are fed back). ``predictor``: what predicts in place of the
    model (MC dropout)."""
    transform = state.transform
    windows = []
    for history in histories:
        rows = transform.inputs(history.target, history.covariates)
        if len(rows) < plan.lookback:
            raise ValueError(
                f"the history to forecast from has {len(history)} rows; the model needs the last {plan.lookback} "
                f"(lookback) after the {transform.lost_rows} row(s) differencing uses up."
            )
        windows.append(rows[-plan.lookback :])
    windows = np.stack(windows).astype(np.float32)
    covariates = None
    if plan.n_covariates and _needs_feedback(plan, steps):
        if future_covariates is None:
            covariate_names = list(histories[0].covariate_names)
            raise ValueError(
                f"forecasting {steps} steps feeds predictions back in (the model predicts {plan.outputs} at a "
                f"time), and the next windows need the future values of the covariate(s) {covariate_names}: pass "
                f"covariates= with {steps} future rows (a DataFrame with those columns, or an array "
                f"({steps}, {plan.n_covariates}))."
            )
        covariates = np.stack([transform.scale_covariates(c) for c in future_covariates]).astype(np.float32)
    model = predictor if predictor is not None else state.model
    scaled = recursive_forecast(
        model, windows, steps, target=0 if plan.n_covariates else None, covariates=covariates
    )
    scaled = np.asarray(scaled, dtype=np.float64).reshape(len(histories), steps)
    return np.stack([transform.inverse(scaled[i], histories[i].target) for i in range(len(histories))])
