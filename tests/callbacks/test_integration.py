"""The issue's acceptance run: validation_split + EarlyStopping(restore_best_weights) +
ModelCheckpoint(save_best_only) + CSVLogger on a small recurrent model."""

import csv

import numpy as np
import pytest

import lstmkit
from lstmkit.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint
from lstmkit.models import load_model

from .helpers import series, small_model

RECURRENT = [
    pytest.param(
        name, marks=pytest.mark.skipif(not hasattr(lstmkit.layers, name), reason=f"{name} not available yet")
    )
    for name in ("LSTM", "GRU")
]


@pytest.mark.parametrize("recurrent", RECURRENT)
def test_early_stopping_checkpoint_and_csv_log_together(tmp_path, recurrent):
    x, y = series(60)
    model = small_model(recurrent)
    checkpoint, log = tmp_path / "best.keras", tmp_path / "log.csv"
    epochs = 60
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=16,
        validation_split=0.3,
        shuffle=False,
        verbose=0,
        callbacks=[
            EarlyStopping(patience=3, restore_best_weights=True),
            ModelCheckpoint(checkpoint, save_best_only=True),
            CSVLogger(log),
        ],
    )
    val_losses = history.history["val_loss"]
    run = len(val_losses)
    best_epoch = int(np.argmin(val_losses))
    assert run < epochs, "the run should have stopped early"
    assert run == best_epoch + 1 + 3  # three epochs without improvement after the best one

    with open(log, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(run))
    assert [float(r["val_loss"]) for r in rows] == val_losses

    x_val, y_val = x[42:], y[42:]  # validation_split=0.3 takes the last 18 of 60 samples
    restored_loss = model.evaluate(x_val, y_val, batch_size=16, verbose=0)[0]
    assert restored_loss == pytest.approx(min(val_losses), rel=1e-6)

    best = load_model(checkpoint)
    np.testing.assert_allclose(best.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6)
    assert best.evaluate(x_val, y_val, batch_size=16, verbose=0)[0] == pytest.approx(
        min(val_losses), rel=1e-6
    )
