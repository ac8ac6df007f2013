"""The README's forecasting example runs as printed (with 2 epochs instead of 100: the quality of the defaults
is tested in test_airline.py)."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_forecasting_example_runs(capsys):
    section = README[README.index("## Forecasting") :]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    assert "Forecaster(horizon=12, seed=0)" in code
    namespace = {}
    exec(code.replace("seed=0)", "seed=0, epochs=2)"), namespace)  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    assert "Backtest: 10 cut(s), horizon 12, 10 model fit(s)" in printed and "seasonal_naive" in printed
    assert "forecast" in printed and "lower" in printed and "1961-12-01" in printed
    assert namespace["forecaster"].backtest_.fits == 10  # predict reused the backtest: no extra fit
