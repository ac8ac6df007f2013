"""ModelCheckpoint: file names from the logs, save_best_only, weights only, batch frequency, and a
checkpoint that survives the process being killed while it writes the next one."""

import os
import signal
import textwrap

import numpy as np
import pytest

import lstmkit
from lstmkit.callbacks import ModelCheckpoint
from lstmkit.models import load_model

from ..subprocesses import run_python
from .helpers import drive, series, small_model


def test_file_names_filled_from_the_epoch_and_the_logs(tmp_path):
    model = small_model()
    x, y = series()
    pattern = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.3f}.keras")  # the folder is created
    history = model.fit(
        x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[ModelCheckpoint(pattern)]
    )
    expected = {
        f"m-{epoch + 1:02d}-{value:.3f}.keras" for epoch, value in enumerate(history.history["val_loss"])
    }
    assert set(os.listdir(tmp_path / "ckpt")) == expected
    last = max(expected)
    np.testing.assert_allclose(
        load_model(tmp_path / "ckpt" / last).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_save_best_only_saves_the_improving_epochs():
    # Checked without training: val_loss 3, 2, 2.5, 1, 1.5 improves at epochs 1, 2 and 4 (1-based).
    saved = []

    class Recording(ModelCheckpoint):
        pass

    callback = Recording("best-{epoch}.keras", save_best_only=True)
    model = type(
        "M", (), {"stop_training": False, "save": lambda self, path, overwrite: saved.append(path)}
    )()
    drive(callback, [3.0, 2.0, 2.5, 1.0, 1.5], model=model)
    assert saved == ["best-1.keras", "best-2.keras", "best-4.keras"]
    assert callback.best == 1.0

    saved.clear()
    callback = ModelCheckpoint("t-{epoch}.keras", save_best_only=True, initial_value_threshold=1.2)
    drive(callback, [3.0, 2.0, 2.5, 1.0, 1.5], model=model)
    assert saved == ["t-4.keras"]

    saved.clear()
    callback = ModelCheckpoint("acc-{epoch}.keras", monitor="val_accuracy", save_best_only=True)
    drive(callback, [0.5, 0.7, 0.6, 0.8], key="val_accuracy", model=model)
    assert saved == ["acc-1.keras", "acc-2.keras", "acc-4.keras"]


def test_save_best_only_with_a_real_model_keeps_the_best_epoch(tmp_path, capsys):
    model = small_model()
    x, y = series()
    path = tmp_path / "best.h5"
    history = model.fit(
        x,
        y,
        epochs=4,
        validation_split=0.25,
        verbose=0,
        callbacks=[ModelCheckpoint(path, save_best_only=True, verbose=1)],
    )
    best = min(history.history["val_loss"])
    loaded = load_model(path)
    assert loaded.evaluate(x[30:], y[30:], verbose=0)[0] == pytest.approx(best, rel=1e-5)
    assert "val_loss improved from None to" in capsys.readouterr().out


def test_weights_only_batch_frequency_and_period(tmp_path):
    x, y = series(20)
    model = small_model()
    model.fit(
        x,
        y,
        epochs=2,
        batch_size=4,
        verbose=0,
        callbacks=[  # 5 batches per epoch
            ModelCheckpoint(
                str(tmp_path / "b-{epoch}-{batch}.weights.h5"), save_weights_only=True, save_freq=3
            )
        ],
    )
    assert sorted(os.listdir(tmp_path)) == ["b-1-3.weights.h5", "b-2-1.weights.h5", "b-2-4.weights.h5"]
    with pytest.raises(ValueError, match="only weights"):
        load_model(tmp_path / "b-2-4.weights.h5")
    fresh = small_model()
    fresh.load_weights(tmp_path / "b-2-4.weights.h5")

    periodic = tmp_path / "periodic"
    model.fit(
        x, y, epochs=5, verbose=0, callbacks=[ModelCheckpoint(str(periodic / "p{epoch}.keras"), period=2)]
    )
    assert sorted(os.listdir(periodic)) == ["p2.keras", "p4.keras"]


def test_only_batch_saving_checkpoints_add_per_batch_work():
    assert not lstmkit.callbacks.CallbackList([ModelCheckpoint("a.keras")]).wants("on_train_batch_end")
    batchwise = ModelCheckpoint("a.keras", save_freq=10)
    assert lstmkit.callbacks.CallbackList([batchwise]).wants("on_train_batch_end")
    assert isinstance(batchwise, ModelCheckpoint) and type(batchwise).__name__ == "ModelCheckpoint"


def test_argument_and_field_errors(tmp_path):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("a.keras", save_freq="batch")
    with pytest.raises(TypeError, match="save_best_onl"):
        ModelCheckpoint("a.keras", save_best_onyl=True)
    model = small_model()
    x, y = series(8)
    with pytest.raises(
        ValueError, match=r"no 'val_loss' in the logs \(available: loss, mae, epoch\).*validation"
    ):
        model.fit(
            x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "{val_loss:.2f}.keras"))]
        )


def test_nothing_is_written_off_the_main_process(tmp_path, monkeypatch):
    monkeypatch.setattr(lstmkit.backend, "is_main_process", lambda: False)
    model = small_model()
    model.fit(*series(8), epochs=2, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "m{epoch}.keras"))])
    assert os.listdir(tmp_path) == []


_KILLED_WHILE_SAVING = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import lstmkit
    from lstmkit.callbacks import LambdaCallback, ModelCheckpoint
    from lstmkit.saving import writing
    from tests.callbacks.helpers import series, small_model

    path, expected_path = sys.argv[1], sys.argv[2]
    x, y = series(16)
    model = small_model()
    real_write = writing._write_array
    written = []

    def write_then_die(handle, array):
        real_write(handle, array)
        written.append(1)
        if len(written) == 4:  # the fourth array of the second checkpoint: the file is half written
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def after_first_epoch(epoch, logs):
        if epoch == 0:  # runs after the checkpoint of epoch 1 was written
            np.save(expected_path, model.predict(x, verbose=0))
            writing._write_array = write_then_die

    model.fit(x, y, epochs=3, verbose=0, callbacks=[ModelCheckpoint(path, monitor="loss"),
                                                   LambdaCallback(on_epoch_end=after_first_epoch)])
""")


def test_a_process_killed_while_checkpointing_leaves_the_previous_checkpoint_loadable(tmp_path):
    path, expected_path = tmp_path / "ckpt.keras", tmp_path / "expected.npy"
    result = run_python("-c", _KILLED_WHILE_SAVING, path, expected_path, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the half-written temporary file, never the checkpoint itself
    model = load_model(path)
    x, _ = series(16)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.load(expected_path), atol=1e-6)
