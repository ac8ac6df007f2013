"""`lstmkit demo`: the worked example from the command line."""

import re
import subprocess
import sys

import pytest

from lstmkit.cli import main


def test_demo_prints_sequence_loss_predictions_and_time(capsys):
    assert main(["demo", "--epochs", "300"]) == 0
    out = capsys.readouterr().out
    assert "sequence: 0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9" in out
    assert re.search(r"fit: 300 epochs in \d+\.\d\d s", out)
    assert re.search(r"final loss \(mse\): \d\.\d{3}e[+-]\d\d", out)
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+0\.\d\s+0\.\d\s+-?\d\.\d{3}$", line)]
    assert len(rows) == 9 and [r[1] for r in rows] == [f"{v / 10:.1f}" for v in range(1, 10)]


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "lstmkit", "demo", "--epochs", "5"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "final loss" in result.stdout


def test_bad_epochs_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--epochs", "0"])
    assert exit_.value.code == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
