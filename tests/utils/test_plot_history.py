"""plot_history: one subplot per metric with its val_ curve; saving; errors. Skipped without matplotlib,
except the missing-matplotlib error itself."""

import sys

import pytest

from lstmkit.callbacks import History
from lstmkit.utils import plot_history

LOGS = {
    "loss": [1.0, 0.5, 0.25],
    "accuracy": [0.5, 0.7, 0.9],
    "val_loss": [1.1, 0.6, 0.4],
    "val_accuracy": [0.4, 0.6, 0.8],
}


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def curves(ax):
    return [(line.get_label(), list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines]


def test_one_subplot_per_metric_with_validation(plt):
    fig = plot_history(LOGS)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    assert curves(axes[0]) == [
        ("training", [1, 2, 3], [1.0, 0.5, 0.25]),
        ("validation", [1, 2, 3], [1.1, 0.6, 0.4]),
    ]
    assert curves(axes[1]) == [
        ("training", [1, 2, 3], [0.5, 0.7, 0.9]),
        ("validation", [1, 2, 3], [0.4, 0.6, 0.8]),
    ]
    assert axes[0].get_xlabel() == "epoch"


def test_history_object_metric_selection_and_saving(plt, tmp_path):
    history = History()
    history.history = dict(LOGS)
    path = tmp_path / "history.png"
    fig = plot_history(history, metrics="val_accuracy", path=path, show=False)
    assert [ax.get_title() for ax in fig.axes] == ["accuracy"]
    assert path.stat().st_size > 0
    fig = plot_history(history, metrics=["accuracy", "loss", "val_loss"])
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "loss"]


def test_validation_every_other_epoch(plt):
    fig = plot_history({"loss": [4.0, 3.0, 2.0, 1.0], "val_loss": [3.5, 1.5]})
    assert curves(fig.axes[0])[1] == ("validation", [2, 4], [3.5, 1.5])


def test_errors(plt):
    with pytest.raises(ValueError, match=r"Unknown metric: 'acuracy'\. Did you mean 'accuracy'"):
        plot_history(LOGS, metrics="acuracy")
    with pytest.raises(ValueError, match=r"the history has no recorded epochs"):
        plot_history({})
    with pytest.raises(TypeError, match=r"plot_history needs the History that fit returns .* Received: list"):
        plot_history([1.0, 0.5])


def test_missing_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(
        ImportError,
        match=r"plot_history needs matplotlib\. Install it with `pip install "
        r"matplotlib`",
    ):
        plot_history(LOGS)
