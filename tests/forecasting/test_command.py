"""`lstmkit forecast`: the five files from the embedded data and from a user's CSV, and a clear message for
every kind of bad input. Few epochs: these tests are about the command's plumbing (the default settings'
quality is tested in test_airline.py, their run time measured by benchmarks/forecast.py)."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

from lstmkit.cli import main
from lstmkit.forecasting import command

FILES = ["forecast.csv", "backtest.csv", "metrics.json", "forecast.png", "report.html"]


@pytest.fixture
def few_epochs(monkeypatch):
    monkeypatch.setattr(command, "DEFAULT_EPOCHS", 2)


def _daily_csv(path, days=120, **columns):
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    t = np.arange(days)
    frame = pd.DataFrame(
        {"date": dates.strftime("%Y-%m-%d"), "sales": 100 + 10 * np.sin(2 * np.pi * t / 7) + t}
    )
    for name, values in columns.items():
        frame[name] = values
    frame.to_csv(path, index=False)
    return frame


def test_no_arguments_writes_all_five_files_for_the_embedded_series(
    tmp_path, monkeypatch, few_epochs, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(["forecast"]) == 0
    printed = capsys.readouterr().out
    assert "embedded airline-passengers" in printed and "backtest: training for cut 10/10" in printed
    out = tmp_path / "forecast"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns) == ["month", "forecast", "lower", "upper"]
    assert forecast["month"].iloc[0] == "1961-01-01" and len(forecast) == 12
    assert (forecast["lower"] < forecast["forecast"]).all() and (
        forecast["forecast"] < forecast["upper"]
    ).all()
    backtest = pd.read_csv(out / "backtest.csv")
    assert len(backtest) == 10 * 12 and {"actual", "model", "naive", "seasonal_naive"} <= set(
        backtest.columns
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backtest"]["fits"] == 10 and metrics["settings"]["seasonal_difference"] == 12
    assert set(metrics["backtest"]["metrics"]) == {"model", "naive", "seasonal_naive", "drift", "mean"}
    assert 0 <= metrics["intervals"]["achieved_backtest"] <= 1 and metrics["timings"]["total_s"] > 0

    import matplotlib.image

    image = matplotlib.image.imread(out / "forecast.png")  # decodes: a valid PNG
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report
    assert "<h2>Backtest: the model beside the baselines</h2>" in report
    table = report[report.index("<table>") : report.index("</table>")]
    for method in ("model", "naive", "seasonal_naive", "drift", "mean"):
        assert f"<td>{method}</td>" in table
    assert "<th>RMSE</th>" in table and "<th>MASE</th>" in table


def test_a_user_csv_with_a_date_column(tmp_path, few_epochs):
    csv = tmp_path / "sales.csv"
    _daily_csv(csv, store=["north"] * 120)
    out = tmp_path / "out"
    assert (
        main(
            [
                "forecast",
                str(csv),
                "--target",
                "sales",
                "--horizon",
                "7",
                "--coverage",
                "0",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns) == ["date", "forecast"]
    assert list(forecast["date"]) == [f"2023-05-{d:02d}" for d in range(1, 8)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["frequency"] == "D" and metrics["settings"]["seasonal_period"] == 7
    assert metrics["data"]["source"].endswith("sales.csv") and metrics["intervals"]["coverage"] is None


def _error(args, capsys) -> str:
    assert main(["forecast", *args]) == 2
    return capsys.readouterr().err


def test_bad_inputs_get_messages_that_say_what_to_change(tmp_path, capsys):
    csv = tmp_path / "data.csv"
    _daily_csv(csv, store=["north"] * 120).drop(columns=["sales"]).to_csv(csv, index=False)
    assert "no numeric column to forecast; the columns are 'store'" in _error([str(csv)], capsys)

    _daily_csv(csv, days=30)
    message = _error([str(csv), "--horizon", "7"], capsys)
    assert "the data has 30 rows, too few for lookback 14 and horizon 7" in message
    assert "Use a shorter --lookback or --horizon" in message

    frame = _daily_csv(csv)
    frame.loc[5, "date"] = "not a date"
    frame.to_csv(csv, index=False)
    assert "data.csv: the time column 'date' has values that are not dates ('not a date'; 1 of 120" in _error(
        [str(csv), "--time", "date"], capsys
    )

    _daily_csv(csv).assign(sales=3.0).to_csv(csv, index=False)
    assert "the target 'sales' is constant (every value is 3)" in _error([str(csv)], capsys)

    _daily_csv(csv).drop(index=[40, 41]).to_csv(csv, index=False)
    message = _error([str(csv)], capsys)
    assert "has gaps: it steps every D, but 2 timestamp(s) are missing (2023-02-10, 2023-02-11)" in message
    assert "`--fill interpolate`" in message

    assert "no such file: 'missing.csv'" in _error(["missing.csv"], capsys)
    (tmp_path / "empty.csv").write_text("")
    assert "is empty" in _error([str(tmp_path / "empty.csv")], capsys)
    assert "--coverage must be in [0, 1)" in _error(["--coverage", "90"], capsys)
    assert "--coverage 0.9 needs at least 10 backtest cuts" in _error(["--cuts", "5"], capsys)


def test_gaps_are_filled_on_request(tmp_path, few_epochs):
    csv = tmp_path / "data.csv"
    _daily_csv(csv).drop(index=[40, 41]).to_csv(csv, index=False)
    out = tmp_path / "out"
    assert (
        main(["forecast", str(csv), "--fill", "interpolate", "--coverage", "0", "--quiet", "--out", str(out)])
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["data"]["filled_values"] == 2


def test_missing_matplotlib_is_an_error_only_when_a_plot_is_wanted(tmp_path, monkeypatch, few_epochs, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = _error(["--out", str(tmp_path / "a")], capsys)
    assert "forecast.png needs matplotlib, which is not installed" in message and "--no-plot" in message
    assert not (tmp_path / "a").exists()  # refused before any training
    out = tmp_path / "b"
    assert main(["forecast", "--no-plot", "--coverage", "0", "--quiet", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f for f in FILES if f != "forecast.png")
    assert "No figure (written with --no-plot)" in (out / "report.html").read_text()
