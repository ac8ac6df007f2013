"""The files ``lstmkit forecast`` writes: forecast.csv, backtest.csv, metrics.json, forecast.png and a
self-contained report.html (the plot embedded, the metrics table against the baselines, the settings, the
timings)."""

from __future__ import annotations

import base64
import html
import json
import math
import os

import numpy as np

from lstmkit.forecasting.timeindex import format_time

__all__ = ["metrics_document", "render_html", "write_outputs"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.model { background: #eef4ff; font-weight: 600; }
td.best { color: #0a6b2d; font-weight: 700; }
img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


def _table(rows: list, header: list, classes=None) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(
            cell if str(cell).startswith("<td") else f"<td>{html.escape(str(cell))}</td>" for cell in row
        )
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _metrics_table(metrics) -> str:
    """Model and baselines, the best value of each metric marked."""
    best = {column: metrics[column].min(skipna=True) for column in metrics.columns}
    rows = []
    for method, values in metrics.iterrows():
        cells = [method]
        for column, value in values.items():
            text = "n/a" if math.isnan(value) else f"{value:.4g}"
            mark = ' class="best"' if value == best[column] else ""
            cells.append(f"<td{mark}>{html.escape(text)}</td>")
        rows.append(cells)
    classes = ["model" if method == "model" else "" for method in metrics.index]
    return _table(rows, ["method", *metrics.columns], classes)


def metrics_document(forecaster, result, forecast, source, coverage, timings) -> dict:
    """What metrics.json holds: the data, the settings, the backtest's metrics, the intervals, the timings."""
    import lstmkit

    data, plan, transform = forecaster.data_, forecaster.plan_, forecaster.transform_.state()
    rows = result.metrics.replace({np.nan: None}).to_dict(orient="index")
    return {
        "data": {
            "source": source,
            "target": str(data.target_name),
            "covariates": [str(c) for c in data.covariate_names],
            "rows": len(data),
            "start": format_time(data.index[0]),
            "end": format_time(data.index[-1]),
            "frequency": data.axis.freq or f"integer steps of {data.axis.step}",
            "filled_values": data.filled,
        },
        "settings": {
            "lookback": plan.lookback,
            "horizon": plan.horizon,
            "strategy": plan.strategy,
            "seasonal_period": plan.seasonal_period,
            "log": transform["log"],
            "seasonal_difference": transform["seasonal_lag"],
            "difference": transform["difference"],
            "scaler": transform["scaler"],
            "model": "default LSTM(32) -> Dense"
            if forecaster.model is None
            else type(forecaster.model_).__name__,
            "epochs": forecaster.epochs,
            "batch_size": forecaster.batch_size,
            "seed": forecaster.seed,
        },
        "backtest": {
            "cuts": len(result.cuts),
            "first_origin": format_time(result.cuts[0]["origin"]),
            "last_origin": format_time(result.cuts[-1]["origin"]),
            "refit": result.refit,
            "fits": result.fits,
            "metrics": rows,
            "mae_by_step": {
                method: [float(v) for v in values] for method, values in result.errors_by_step("MAE").items()
            },
        },
        "intervals": {
            "method": "conformal" if coverage else None,
            "coverage": coverage,
            "achieved_backtest": result.achieved_coverage,
        },
        "forecast": [
            {"time": format_time(stamp), **{k: float(v) for k, v in row.items()}}
            for stamp, row in (forecast.to_frame("forecast") if coverage is None else forecast).iterrows()
        ],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "versions": {
            "lstmkit": lstmkit.__version__,
            "torch": _version("torch"),
            "pandas": _version("pandas"),
        },
    }


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"


def render_html(document: dict, result, forecast, image_png: bytes | None) -> str:
    """The report page for a metrics document (see ``metrics_document``)."""
    data, settings, timings = document["data"], document["settings"], document["timings"]
    intervals = document["intervals"]
    title = f"Forecast of {data['target']}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>")
    parts.append(
        f"<p>{html.escape(data['source'])}: {data['rows']} rows, {html.escape(data['start'])} to "
        f"{html.escape(data['end'])} ({html.escape(str(data['frequency']))}).</p>"
    )
    if image_png is not None:
        encoded = base64.b64encode(image_png).decode("ascii")
        parts.append(f"<img alt='forecast plot' src='data:image/png;base64,{encoded}'>")
    else:
        parts.append("<p class='note'>No figure (written with --no-plot).</p>")
    backtest = document["backtest"]
    parts.append(
        f"<h2>Backtest: the model beside the baselines</h2><p>{backtest['cuts']} rolling cuts (origins "
        f"{html.escape(backtest['first_origin'])} to {html.escape(backtest['last_origin'])}), "
        f"{settings['horizon']} steps ahead each; {backtest['fits']} model fit(s), each on the data before its cut "
        "(scaling and differencing fitted on that past only). Errors over every cut and step; MASE below 1 beats "
        "the seasonal-naive in-sample error.</p>"
    )
    parts.append(_metrics_table(result.metrics))
    if intervals["coverage"]:
        parts.append(
            f"<p>{intervals['coverage']:.0%} conformal intervals (per step, from the backtest errors): "
            f"{intervals['achieved_backtest']:.1%} of the backtest's actual values fell inside, each cut's "
            "interval calibrated on the other cuts.</p>"
        )
    by_step = result.errors_by_step("MAE")
    parts.append("<h2>MAE by step ahead</h2>")
    parts.append(
        _table(
            [[step, *(f"{v:.4g}" for v in row)] for step, row in by_step.iterrows()],
            ["step", *by_step.columns],
        )
    )
    parts.append("<h2>Forecast</h2>")
    frame = forecast.to_frame("forecast") if not hasattr(forecast, "columns") else forecast
    parts.append(
        _table(
            [[format_time(stamp), *(f"{v:.4g}" for v in row)] for stamp, row in frame.iterrows()],
            ["time", *frame.columns],
        )
    )
    parts.append("<h2>Settings</h2>")
    parts.append(_table([[k, "" if v is None else v] for k, v in settings.items()], ["setting", "value"]))
    parts.append("<h2>Timings</h2>")
    parts.append(_table([[k, f"{v:.2f} s"] for k, v in timings.items()], ["stage", "wall-clock"]))
    versions = ", ".join(f"{k} {v}" for k, v in document["versions"].items())
    parts.append(f"<p class='note'>Written by lstmkit forecast ({html.escape(versions)}).</p></body></html>")
    return "\n".join(parts)


def write_outputs(folder, forecaster, result, forecast, source, coverage, plot, timings) -> list[str]:
    """Write the five files (four with ``plot=False``) into ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in ("forecast.csv", "backtest.csv", "metrics.json")}
    frame = forecast.to_frame("forecast") if not hasattr(forecast, "columns") else forecast
    frame.rename_axis(frame.index.name or "time").to_csv(paths["forecast.csv"])
    result.forecasts.to_csv(paths["backtest.csv"], index=False)
    document = metrics_document(forecaster, result, forecast, source, coverage, timings)
    with open(paths["metrics.json"], "w") as handle:
        json.dump(document, handle, indent=2)
    image = None
    if plot:
        import matplotlib.pyplot as plt

        from lstmkit.forecasting.plotting import plot_forecast

        paths["forecast.png"] = os.path.join(folder, "forecast.png")
        figure = plot_forecast(forecaster, coverage=coverage, backtest=result, forecast=forecast)
        figure.savefig(paths["forecast.png"], dpi=100)
        plt.close(figure)
        with open(paths["forecast.png"], "rb") as handle:
            image = handle.read()
    paths["report.html"] = os.path.join(folder, "report.html")
    with open(paths["report.html"], "w", encoding="utf-8") as handle:
        handle.write(render_html(document, result, forecast, image))
    return list(paths.values())
