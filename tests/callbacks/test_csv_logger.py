"""CSVLogger: one row per epoch, Keras 3's columns, append mode, flushing."""

import csv

import pytest

import lstmkit
from lstmkit.callbacks import CSVLogger, LambdaCallback, LearningRateScheduler

from .helpers import series, small_model


def _rows(path, separator=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=separator))


def test_one_row_per_epoch_with_the_logged_values(tmp_path):
    path = tmp_path / "log.csv"
    history = small_model().fit(
        *series(), epochs=3, validation_split=0.25, verbose=0, callbacks=[CSVLogger(path)]
    )
    rows = _rows(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]  # 0-based, as Keras writes it
    for index, key in enumerate(rows[0][1:], start=1):
        assert [float(row[index]) for row in rows[1:]] == history.history[key]  # exact: repr round-trips
    assert path.read_bytes().count(b"\r\n") == 4  # the csv module's (and Keras's) line ends


def test_without_validation_the_val_columns_say_na_and_append_adds_rows(tmp_path):
    path = tmp_path / "log.csv"
    model = small_model()
    model.fit(*series(), epochs=2, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    rows = _rows(path, ";")
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]  # Keras 3 adds the val_ columns
    assert [row[3:] for row in rows[1:]] == [["NA", "NA"], ["NA", "NA"]]

    model.fit(*series(), epochs=2, verbose=0, callbacks=[CSVLogger(path, separator=";", append=True)])
    rows = _rows(path, ";")
    assert len(rows) == 5 and rows[0][0] == "epoch" and [r[0] for r in rows[1:]] == ["0", "1", "0", "1"]

    model.fit(*series(), epochs=1, verbose=0, callbacks=[CSVLogger(path)])  # append=False starts over
    assert len(_rows(path)) == 2


def test_each_row_is_flushed_at_the_end_of_its_epoch(tmp_path):
    path = tmp_path / "log.csv"
    seen = []
    reader = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(len(_rows(path))))
    small_model().fit(*series(8), epochs=3, verbose=0, callbacks=[CSVLogger(path), reader])
    assert seen == [2, 3, 4]


def test_the_learning_rate_column_from_a_scheduler_placed_before(tmp_path):
    path = tmp_path / "log.csv"
    small_model().fit(
        *series(8),
        epochs=2,
        verbose=0,
        callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)), CSVLogger(path)],
    )
    rows = _rows(path)
    assert "learning_rate" in rows[0]
    column = rows[0].index("learning_rate")
    assert [float(r[column]) for r in rows[1:]] == [0.1, 0.05]


def test_arguments_and_main_process_only(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="single character"):
        CSVLogger(tmp_path / "x.csv", separator=";;")
    monkeypatch.setattr(lstmkit.backend, "is_main_process", lambda: False)
    small_model().fit(*series(8), epochs=1, verbose=0, callbacks=[CSVLogger(tmp_path / "x.csv")])
    assert not (tmp_path / "x.csv").exists()
