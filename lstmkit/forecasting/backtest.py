"""Rolling-origin backtests: at every cut, fit on the past only, forecast the next ``horizon`` steps, and score
the model beside the baselines on the same cuts.

A cut at position ``c`` trains on rows ``[0, c)`` and forecasts rows ``c .. c + horizon - 1``. The transforms
(scaler, differencing choices) are fitted at each refit on that past only. ``refit=True`` trains at every
cut; ``refit=False`` trains once, at the first cut, and forecasts every later cut with that model and its
transforms (they have seen only the first cut's past); ``refit=k`` trains at every k-th cut. Cuts that share a
fit are forecast in one batched call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lstmkit.forecasting.baselines import baseline_forecasts
from lstmkit.forecasting.data import SeriesData
from lstmkit.forecasting.metrics import METRICS, mase
from lstmkit.forecasting.timeindex import format_time, require_pandas
from lstmkit.utils.checks import check_int, is_int

__all__ = ["DEFAULT_CUTS", "BacktestResult", "choose_cuts", "refit_every"]

DEFAULT_CUTS = 10  # enough to check a 90 % conformal interval on the backtest itself (9 calibrate the 10th)


def refit_every(refit) -> int | None:
    """``refit`` as 'train at every k-th cut' (k), or None for 'train once'."""
    if refit is True:
        return 1
    if refit is False or refit is None:
        return None
    if is_int(refit) and refit >= 1:
        return int(refit)
    raise ValueError(
        "refit must be True (train at every cut), False (train once, at the first cut) or an integer k >= 1 "
        f"(train at every k-th cut). Received: refit={refit!r}"
    )


def _position(start, data: SeriesData) -> int:
    pd = require_pandas()
    n = len(data)
    if isinstance(start, (float, np.floating)):
        if not 0 < start < 1:
            raise ValueError(
                f"start as a fraction must be between 0 and 1 (e.g. 0.8). Received: start={start}"
            )
        return round(start * n)
    if is_int(start):
        return int(start) + n if start < 0 else int(start)
    if data.axis.kind == "datetime":
        try:
            stamp = pd.Timestamp(start)
        except (TypeError, ValueError):
            stamp = None
        if stamp is not None and stamp in data.index:
            return int(data.index.get_loc(stamp))
        raise ValueError(
            f"start={start!r} is not a timestamp of the data (it runs from {format_time(data.index[0])} to {format_time(data.index[-1])}, "
            f"{data.axis.describe()}). Give the first forecast time, a row position, or a fraction like 0.8."
        )
    raise TypeError(f"start must be a row position, a fraction or a timestamp. Received: start={start!r}")


def choose_cuts(data: SeriesData, horizon: int, start, stride, min_rows: int) -> list[int]:
    """The cut positions: from ``start`` every ``stride`` rows while the whole horizon is in the data.
    Default start: the last ``DEFAULT_CUTS`` cuts (fewer if the data is short)."""
    stride = check_int(stride, "stride", 1, owner="backtest")
    n = len(data)
    last = n - horizon
    if start is None:
        first = max(min_rows, last - (DEFAULT_CUTS - 1) * stride)
        first = last - ((last - first) // stride) * stride
    else:
        first = _position(start, data)
    if first < min_rows:
        raise ValueError(
            f"backtest: the first cut at row {first} leaves {first} rows to train on; this Forecaster needs at "
            f"least {min_rows}. Start later (start=...), or use a shorter lookback/horizon."
        )
    if first > last:
        raise ValueError(
            f"backtest: the first cut at row {first} leaves fewer than horizon={horizon} rows to forecast "
            f"(the data has {n}); start at row {last} or earlier."
        )
    return list(range(first, last + 1, stride))


@dataclass
class BacktestResult:
    """What a backtest returns.

    - ``forecasts``: one row per cut and step: ``origin`` (the last time trained on), ``step`` (1 ..
      horizon), ``time``, ``actual``, ``model``, one column per baseline, and ``lower``/``upper`` when
      intervals were checked.
    - ``metrics``: MAE, RMSE, MAPE, sMAPE and MASE over every cut and step, one row per method (model first).
    - ``cuts``: per cut, its ``origin``, ``position``, whether the model was ``refit`` there, the position
      the model used was fitted at (``fitted_at``), and the fitted ``transform`` parameters (the scaler's
      mean, scale, ...) it forecast with.
    - ``fits``: how many models were trained. ``residuals``: actual - forecast, ``(cuts, horizon)``.
    - ``coverage`` / ``achieved_coverage``: the nominal and the achieved share of actual values inside the
      intervals, when intervals were checked.
    """

    forecasts: object
    metrics: object
    cuts: list
    fits: int
    residuals: np.ndarray
    horizon: int
    refit: object
    seconds: float
    coverage: float | None = None
    achieved_coverage: float | None = None
    interval_method: str | None = None
    fingerprint: str = ""
    notes: list = field(default_factory=list)

    def errors_by_step(self, metric: str = "MAE"):
        """A DataFrame: rows = steps ahead (1 .. horizon), columns = methods, values = ``metric`` per step."""
        pd = require_pandas()
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}. Received: {metric!r}")
        steps = [group for _, group in self.forecasts.groupby("step")]
        table = {
            method: [METRICS[metric](group["actual"].to_numpy(), group[method].to_numpy()) for group in steps]
            for method in self.metrics.index
        }
        return pd.DataFrame(table, index=pd.Index(range(1, self.horizon + 1), name="step"))

    def summary(self) -> str:
        """The metrics table, model beside the baselines, and what was refit."""
        lines = [
            (
                f"Backtest: {len(self.cuts)} cut(s), horizon {self.horizon}, {self.fits} model fit(s) "
                f"(refit={self.refit!r}), {self.seconds:.1f} s"
            ),
            self.metrics.to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        if self.coverage is not None:
            lines.append(
                f"{self.interval_method} {self.coverage:.0%} intervals covered {self.achieved_coverage:.1%} of the "
                "backtest's actual values"
            )
        lines += self.notes
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def score_table(actual: np.ndarray, forecasts: dict, histories: list, season: int | None):
    """Rows = methods, columns = MAE RMSE MAPE sMAPE MASE; ``actual`` and each forecast are ``(cuts, steps)``;
    MASE is averaged over cuts, each scaled on its own history."""
    pd = require_pandas()
    rows = {}
    lag = season if season and season >= 2 else 1
    for method, values in forecasts.items():
        row = {name: fn(actual, values) for name, fn in METRICS.items()}
        scaled = [mase(actual[i], values[i], h, lag) for i, h in enumerate(histories) if len(h) > lag]
        row["MASE"] = float(np.mean(scaled)) if scaled else float("nan")
        rows[method] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def run_backtest(
    forecaster, data: SeriesData, plan, cuts: list[int], refit, coverage=None, method="conformal"
):
    """The backtest itself (see the module docstring); ``forecaster`` supplies fit and forecast."""
    from lstmkit.forecasting.engine import fit_state, forecast
    from lstmkit.forecasting.intervals import leave_one_out_intervals

    pd = require_pandas()
    every = refit_every(refit)
    started = time.perf_counter()
    states, groups, records = [], [], []
    for i, cut in enumerate(cuts):
        due = i == 0 or (every is not None and i % every == 0)
        if due:
            forecaster._say(
                f"backtest: training for cut {i + 1}/{len(cuts)} (first forecast {format_time(data.index[cut])})"
            )
            states.append(
                fit_state(forecaster, data.head(cut), plan, f"The past at cut {format_time(data.index[cut])}")
            )
            groups.append([])
            forecaster._say(f"  trained on {cut} rows in {states[-1].seconds:.1f} s")
        groups[-1].append(i)
        records.append(
            {
                "origin": data.index[cut - 1],
                "position": cut,
                "refit": due,
                "fitted_at": states[-1].rows,
                "transform": states[-1].transform.state(),
            }
        )
    horizon = plan.horizon
    predicted = np.empty((len(cuts), horizon))
    future = [data.covariates[c : c + horizon] for c in cuts] if plan.n_covariates else None
    for state, members in zip(states, groups):
        histories = [data.head(cuts[i]) for i in members]
        chosen = [future[i] for i in members] if future is not None else None
        predicted[members] = forecast(state, plan, histories, horizon, chosen)
    actual = np.stack([data.target[c : c + horizon] for c in cuts])
    pasts = [data.target[:c] for c in cuts]
    baselines = [baseline_forecasts(p, horizon, plan.seasonal_period) for p in pasts]
    methods = {"model": predicted}
    for name in baselines[0]:  # the first cut's past is the shortest: its baselines every cut has
        methods[name] = np.stack([b[name] for b in baselines])
    residuals = actual - predicted

    columns = {
        "origin": np.repeat([r["origin"] for r in records], horizon),
        "step": np.tile(np.arange(1, horizon + 1), len(cuts)),
        "time": np.concatenate([data.index[c : c + horizon] for c in cuts]),
        "actual": actual.ravel(),
    }
    columns.update({name: values.ravel() for name, values in methods.items()})
    result = BacktestResult(
        forecasts=None,
        metrics=score_table(actual, methods, pasts, plan.seasonal_period),
        cuts=records,
        fits=len(states),
        residuals=residuals,
        horizon=horizon,
        refit=refit,
        seconds=0.0,
        fingerprint=data.fingerprint(),
    )
    if coverage is not None:
        if method == "conformal":
            half = leave_one_out_intervals(residuals, coverage)
            lower, upper = predicted - half, predicted + half
        else:
            lower, upper = np.empty_like(predicted), np.empty_like(predicted)
            for state, members in zip(states, groups):
                for i in members:
                    low, high = forecaster._sample_interval(
                        state,
                        plan,
                        data.head(cuts[i]),
                        horizon,
                        coverage,
                        None if future is None else future[i],
                    )
                    lower[i], upper[i] = low, high
        columns["lower"], columns["upper"] = lower.ravel(), upper.ravel()
        result.coverage, result.interval_method = coverage, method
        result.achieved_coverage = float(np.mean((actual >= lower) & (actual <= upper)))
    result.forecasts = pd.DataFrame(columns)
    result.seconds = time.perf_counter() - started
    return result
