"""EarlyStopping, checked against sequences of monitored values worked out by hand (Keras 3's rules)."""

import numpy as np
import pytest

from lstmkit.callbacks import EarlyStopping, LambdaCallback

from .helpers import FakeModel, drive, series, small_model

VALUES = [1.0, 0.9, 0.95, 0.85, 0.86, 0.87, 0.88, 0.5]


@pytest.mark.parametrize(
    ("options", "epochs", "best", "best_epoch", "stopped_epoch"),
    [
        # Epoch 2 does not improve on 0.9: with patience 0 or 1 that stops training there.
        ({}, 3, 0.9, 1, 2),
        ({"patience": 1}, 3, 0.9, 1, 2),
        # Two epochs in a row without improvement first happen at epochs 4 and 5 (after 0.85).
        ({"patience": 2}, 6, 0.85, 3, 5),
        # 0.9 improves on 1.0 by more than 0.06; 0.95 does not improve on 0.9.
        ({"patience": 1, "min_delta": 0.06}, 3, 0.9, 1, 2),
        # Improvements that do not beat the baseline 0.88 do not reset the patience count.
        ({"patience": 2, "baseline": 0.88}, 3, 0.9, 1, 2),
        # Epochs 0-2 are not monitored; 0.85 is the first value, 0.86 stops it.
        ({"start_from_epoch": 3}, 5, 0.85, 3, 4),
        ({"patience": 10}, 8, 0.5, 7, 0),
    ],
)
def test_stopping_rules(options, epochs, best, best_epoch, stopped_epoch):
    callback = EarlyStopping(**options)
    ran, model = drive(callback, VALUES)
    assert (ran, callback.best, callback.best_epoch, callback.stopped_epoch) == (
        epochs,
        best,
        best_epoch,
        stopped_epoch,
    )
    assert model.stop_training == (stopped_epoch > 0)


def test_direction_comes_from_the_name_or_the_mode():
    ran, _ = drive(EarlyStopping(monitor="val_accuracy", patience=1), VALUES, key="val_accuracy")
    assert ran == 2  # accuracy: larger is better, 0.9 is worse than 1.0
    ran, _ = drive(EarlyStopping(monitor="val_score", mode="max", patience=1), VALUES, key="val_score")
    assert ran == 2
    ran, _ = drive(EarlyStopping(monitor="val_accuracy", mode="min", patience=1), VALUES, key="val_accuracy")
    assert ran == 3
    with pytest.raises(ValueError, match=r"cannot tell whether monitor='val_score'.*mode='min'.*mode='max'"):
        drive(EarlyStopping(monitor="val_score"), VALUES, key="val_score")
    with pytest.raises(ValueError, match=r"mode.*'maxx'.*Did you mean 'max'"):
        EarlyStopping(mode="maxx")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


def test_a_missing_monitored_value_warns_once_and_lists_the_logged_values():
    callback = EarlyStopping(monitor="val_loss", patience=0)
    values = [{"loss": 1.0 + epoch, "mae": 0.5} for epoch in range(3)]
    with pytest.warns(
        UserWarning,
        match=r"'val_loss', which is not in the logs of epoch 1; available: loss, "
        r"mae\..*validation_split",
    ) as record:
        ran, model = _drive_logs(callback, values)
    assert len(record) == 1
    assert ran == 3 and model.stop_training is False


def _drive_logs(callback, logs_per_epoch):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_per_epoch):
        callback.on_epoch_end(epoch, logs)
    return len(logs_per_epoch), model


def _weights_run(values, patience, restore, epochs=None):
    """A real model whose weights are set to the epoch number before each epoch's end is reported."""
    model = small_model()
    x, y = series(8)
    stamp = LambdaCallback(
        on_epoch_end=lambda epoch, logs: model.set_weights(
            [np.full_like(w, epoch) for w in model.get_weights()]
        )
    )
    report = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__("score", values[epoch]))
    early = EarlyStopping(
        monitor="score", mode="min", patience=patience, restore_best_weights=restore, verbose=1
    )
    history = model.fit(x, y, epochs=epochs or len(values), verbose=0, callbacks=[stamp, report, early])
    return model, history, early


def test_restore_best_weights_after_an_early_stop(capsys):
    model, history, early = _weights_run([5.0, 3.0, 4.0, 4.5, 6.0], patience=2, restore=True)
    assert len(history.history["loss"]) == 4 and early.stopped_epoch == 3
    assert all(np.all(w == 1) for w in model.get_weights())  # epoch 1 had the best score
    out = capsys.readouterr().out
    assert (
        "Epoch 4: early stopping" in out
        and "Restoring model weights from the end of the best epoch: 2." in out
    )


def test_restore_best_weights_also_when_training_never_stopped():
    # Keras 2 kept the last epoch's weights here; lstmkit (like Keras 3) restores the best ones.
    model, history, early = _weights_run([5.0, 3.0, 4.0], patience=5, restore=True)
    assert len(history.history["loss"]) == 3 and early.stopped_epoch == 0
    assert all(np.all(w == 1) for w in model.get_weights())


def test_without_restore_the_last_weights_stay():
    model, _, _ = _weights_run([5.0, 3.0, 4.0, 4.5, 6.0], patience=2, restore=False)
    assert all(np.all(w == 3) for w in model.get_weights())
