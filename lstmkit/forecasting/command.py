"""``lstmkit forecast``: fit, backtest and forecast a CSV column (or the embedded airline series) and write
forecast.csv, backtest.csv, metrics.json, forecast.png and report.html."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from lstmkit.forecasting import backtest as backtests
from lstmkit.forecasting.data import prepare_data
from lstmkit.forecasting.forecaster import Forecaster
from lstmkit.forecasting.intervals import min_cuts
from lstmkit.forecasting.timeindex import FILL_METHODS, format_time, require_pandas

__all__ = ["add_arguments", "run"]

DEFAULT_EPOCHS = 100  # the Forecaster's default
TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds", "month", "day", "period", "week", "year")


class CommandError(ValueError):
    """A problem with the command's input, reported as one message without a traceback."""


def add_arguments(parser) -> None:
    parser.add_argument("csv", nargs="?", help="CSV file (default: the embedded airline-passengers series)")
    parser.add_argument("--target", help="column to forecast (default: the only numeric column)")
    parser.add_argument(
        "--time", help="date column (default: one named like 'date', or the first if all dates)"
    )
    parser.add_argument("--covariates", nargs="+", metavar="COL", help="extra input columns")
    parser.add_argument("--horizon", type=int, help="steps to forecast (default: one season, else 1)")
    parser.add_argument("--lookback", type=int, help="steps per input window (default: two seasons)")
    parser.add_argument("--strategy", choices=["direct", "recursive"], default="direct")
    parser.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_EPOCHS,
        help=f"training epochs per fit (default {DEFAULT_EPOCHS})",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="(default 16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of every fit (default 0)")
    parser.add_argument("--scaler", choices=["standard", "minmax", "none"], default="standard")
    parser.add_argument("--log", action="store_true", help="model the log of the target")
    parser.add_argument("--difference", choices=["auto", "0", "1"], default="auto")
    parser.add_argument("--seasonal-difference", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--seasonal-period", type=int, help="steps per season (default: from the frequency)")
    parser.add_argument("--fill", choices=FILL_METHODS, help="fill gaps and missing values (default: refuse)")
    parser.add_argument(
        "--coverage", type=float, default=0.9, help="interval coverage, 0 for none (default 0.9)"
    )
    parser.add_argument("--cuts", type=int, help="backtest cuts (default 10, more for higher coverage)")
    parser.add_argument("--stride", type=int, default=1, help="rows between backtest cuts (default 1)")
    parser.add_argument(
        "--refit", type=int, default=1, help="refit every k-th cut; 0: train once (default 1)"
    )
    parser.add_argument("--out", default="forecast", help="output folder (default ./forecast)")
    parser.add_argument("--no-plot", action="store_true", help="skip forecast.png (no matplotlib needed)")
    parser.add_argument("--quiet", action="store_true", help="print only errors and the output folder")


def _read_csv(path: str):
    pd = require_pandas()
    if not os.path.isfile(path):
        raise CommandError(
            f"no such file: {path!r}. Give the path of a CSV file, or no file for the embedded data."
        )
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path!r} is empty; it needs a header row and one row per time step.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CommandError(f"{path!r} cannot be read as CSV: {err}") from None
    if frame.empty:
        raise CommandError(f"{path!r} has a header but no rows.")
    return frame


def _guess_time_column(frame):
    """A column named like a date, else the first column if every value parses as a date; None if neither."""
    pd = require_pandas()
    for column in frame.columns:
        if str(column).strip().lower() in TIME_NAMES:
            return column
    first = frame.columns[0]
    if not pd.api.types.is_numeric_dtype(frame[first]):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns when it guesses a format
            parsed = pd.to_datetime(frame[first], errors="coerce")
        if parsed.notna().all():
            return first
    return None


def _load(args, say):
    if args.csv is None:
        from lstmkit.forecasting.datasets import load_airline

        say("data: the embedded airline-passengers series (monthly, 1949-1960, thousands)")
        return load_airline(as_frame=True), "month", "embedded airline passengers (Box & Jenkins series G)"
    frame = _read_csv(args.csv)
    time_column = args.time or _guess_time_column(frame)
    if time_column is None:
        say("data: no date column found (use --time to name one): the rows are numbered 0, 1, 2, ...")
    elif time_column in frame.columns:
        pd = require_pandas()
        parsed = pd.to_datetime(frame[time_column], errors="coerce")
        if parsed.notna().all() and not parsed.is_monotonic_increasing:
            say(f"data: rows sorted by {time_column!r}")
            frame = frame.iloc[np.argsort(parsed.to_numpy(), kind="stable")].reset_index(drop=True)
    return frame, time_column, os.path.abspath(args.csv)


def _forecaster(args, time_column) -> Forecaster:
    return Forecaster(
        lookback=args.lookback,
        horizon=args.horizon,
        strategy=args.strategy,
        scaler=None if args.scaler == "none" else args.scaler,
        log=args.log,
        difference="auto" if args.difference == "auto" else int(args.difference),
        seasonal_difference={"auto": "auto", "yes": True, "no": False}[args.seasonal_difference],
        seasonal_period=args.seasonal_period,
        covariates=args.covariates,
        target=args.target,
        time=time_column,
        fill=args.fill,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )


def _check_numbers(args) -> None:
    for name in ("horizon", "lookback", "epochs", "batch_size", "cuts", "stride", "seasonal_period"):
        value = getattr(args, name)
        if value is not None and value < (2 if name == "seasonal_period" else 1):
            flag = "--" + name.replace("_", "-")
            raise CommandError(
                f"{flag} must be at least {2 if name == 'seasonal_period' else 1}; received {value}."
            )
    if args.refit < 0:
        raise CommandError(
            f"--refit must be 0 (train once) or k >= 1 (every k-th cut); received {args.refit}."
        )
    if not 0 <= args.coverage < 1:
        raise CommandError(
            f"--coverage must be in [0, 1) (e.g. 0.9; 0 for no intervals); received {args.coverage}."
        )


def _cut_count(args) -> int:
    coverage = args.coverage or None
    needed = min_cuts(coverage) + 1 if coverage else 1  # +1: each cut's interval is calibrated on the others
    if args.cuts is not None and coverage and args.cuts < needed:
        raise CommandError(
            f"--coverage {coverage} needs at least {needed} backtest cuts to calibrate and check its intervals; "
            f"--cuts is {args.cuts}. Raise --cuts, or lower --coverage (or 0 for no intervals)."
        )
    return args.cuts or max(backtests.DEFAULT_CUTS, needed)


def run(args, out=None) -> int:
    """Run the command for parsed ``args``; 0 on success, 2 after an input error (message on stderr)."""
    out = out or sys.stdout
    try:
        return _run(args, out)
    except (CommandError, ValueError, TypeError, ImportError) as err:
        print(f"lstmkit forecast: error: {err}", file=sys.stderr)
        return 2


def _run(args, out) -> int:
    from lstmkit.forecasting.report import write_outputs

    started = time.perf_counter()

    def say(message):
        if not args.quiet:
            print(message, file=out, flush=True)

    _check_numbers(args)
    if not args.no_plot:
        from lstmkit.utils.plotting import require_matplotlib

        try:
            require_matplotlib("forecast.png")
        except ImportError:
            raise CommandError(
                "forecast.png needs matplotlib, which is not installed. Install it (`pip install "
                "'lstmkit[forecast]'` or `pip install matplotlib`), or pass --no-plot to write the other files "
                "(report.html then has no figure)."
            ) from None
    frame, time_column, source = _load(args, say)
    forecaster = _forecaster(args, time_column)
    owner = os.path.basename(args.csv) if args.csv else "the embedded data"
    data = prepare_data(
        frame, forecaster.target, forecaster.covariates, forecaster.time, forecaster.fill, owner
    )
    plan = forecaster._plan(data)
    cuts = _cut_count(args)
    train_rows = forecaster._min_rows(plan)
    needed = train_rows + (cuts - 1) * args.stride + plan.horizon
    if len(data) < needed:
        raise CommandError(
            f"the data has {len(data)} rows, too few for lookback {plan.lookback} and horizon {plan.horizon} with a "
            f"{cuts}-cut backtest: each fit needs about {train_rows} rows (windows of lookback + horizon, and the "
            f"rows differencing uses up) and the cuts {(cuts - 1) * args.stride + plan.horizon} more, {needed} in "
            "all. Use a shorter --lookback or --horizon, fewer --cuts (with --coverage 0), or more data."
        )
    say(
        f"data: {len(data)} rows of {data.target_name!r}, {format_time(data.index[0])} to {format_time(data.index[-1])} "
        f"({data.axis.describe()}); lookback {plan.lookback}, horizon {plan.horizon}, seasonal period "
        f"{plan.seasonal_period or 'none'}"
        + (f"; {data.filled} value(s) filled ({args.fill})" if data.filled else "")
    )
    coverage = args.coverage or None
    start = len(data) - plan.horizon - (cuts - 1) * args.stride
    backtest_started = time.perf_counter()
    result = forecaster.backtest(
        frame, start=start, stride=args.stride, refit=args.refit or False, coverage=coverage
    )
    backtest_seconds = time.perf_counter() - backtest_started
    fit_started = time.perf_counter()
    forecaster.fit(frame)
    fit_seconds = time.perf_counter() - fit_started
    forecast = forecaster.predict(coverage=coverage)
    say(result.summary())
    say("forecast:\n" + forecast.to_string(float_format=lambda v: f"{v:.4g}"))
    timings = {
        "backtest_s": backtest_seconds,
        "fit_s": fit_seconds,
        "total_s": time.perf_counter() - started,
    }
    paths = write_outputs(
        args.out,
        forecaster,
        result,
        forecast,
        source=source,
        coverage=coverage,
        plot=not args.no_plot,
        timings=timings,
    )
    print(f"wrote {', '.join(os.path.basename(p) for p in paths)} to {os.path.abspath(args.out)}", file=out)
    return 0
