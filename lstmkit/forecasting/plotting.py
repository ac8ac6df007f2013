"""``plot_forecast``: the history, the backtest's forecasts and the forecast with its interval band, in one
figure (needs matplotlib: ``pip install lstmkit[plot]``)."""

from __future__ import annotations

from lstmkit.utils.plotting import require_matplotlib

__all__ = ["plot_forecast", "require_matplotlib"]


def plot_forecast(forecaster, coverage=0.9, backtest=None, path=None, history=None, forecast=None):
    """Draw a fitted Forecaster's series and forecast.

    Args:
        forecaster: a fitted Forecaster.
        coverage: the interval band's coverage (None: no band). Conformal bands need backtest errors; without
            a backtest of the fitted data, ``predict`` calibrates first (one extra fit).
        backtest: a BacktestResult whose forecasts to draw (default: the Forecaster's last backtest, if any).
        path: save the figure there (format from the extension, e.g. 'forecast.png').
        history: how many of the last observed steps to show (None: all).
        forecast: the forecast to draw, as ``predict`` returns it (default: ``predict(coverage=coverage)``).

    Returns:
        The matplotlib Figure.
    """
    plt = require_matplotlib("plot_forecast")
    data = forecaster.data_
    if forecast is None:
        forecast = forecaster.predict(coverage=coverage)
    if backtest is None:
        backtest = getattr(forecaster, "backtest_", None)
    shown = slice(-history, None) if history else slice(None)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(
        data.index[shown],
        data.target[shown],
        color="black",
        linewidth=1.2,
        label=f"{data.target_name} (data)",
    )
    forecasts = getattr(backtest, "forecasts", None)
    if forecasts is not None:
        for number, (_, cut) in enumerate(forecasts.groupby("origin", sort=False)):
            ax.plot(
                cut["time"],
                cut["model"],
                color="tab:orange",
                alpha=0.5,
                linewidth=0.9,
                label="backtest forecasts" if number == 0 else None,
            )
    values = forecast["forecast"] if hasattr(forecast, "columns") else forecast
    ax.plot(values.index, values.to_numpy(), color="tab:blue", linewidth=1.8, label="forecast")
    if hasattr(forecast, "columns") and "lower" in forecast.columns:
        ax.fill_between(
            forecast.index,
            forecast["lower"].to_numpy(),
            forecast["upper"].to_numpy(),
            color="tab:blue",
            alpha=0.2,
            label=f"{coverage:.0%} interval" if coverage else "interval",
        )
    ax.set_title(f"{data.target_name}: {len(values)}-step forecast")
    ax.set_xlabel(str(data.index.name or "time"))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
