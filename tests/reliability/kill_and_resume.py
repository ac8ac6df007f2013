"""The kill-and-resume experiment, run as its own process by test_resume.py:

    python -m tests.reliability.kill_and_resume CONFIG FOLDER SEED [SEED ...]

It imports lstmkit once and then forks one child per training attempt (fork is instant; this process
itself never computes with torch, so forking is safe). First an uninterrupted run gives the reference
weights. Then, for each seed, a child runs the same script with BackupAndRestore; this process SIGKILLs
it at a random moment (after a random number of batches plus a random delay of up to a few
milliseconds, so kills land inside training steps, inside backup writes and between epochs) and starts
it again, until a run completes. Prints one JSON line: per seed the kills (batch counts) and the largest
difference between its final weights and the reference.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

import numpy as np

BATCH = 8


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1, keepdims=True) * 0.3 + 0.1 * x[:, -1, 1:2]).astype("float32")
    return x, y


def _train(config: str, folder: str, progress_fd: int | None, resume: bool) -> np.ndarray:
    """The training script a user would run: the same every time it is started."""
    import torch

    from lstmkit import callbacks, layers
    from lstmkit.models import Sequential
    from lstmkit.utils import PyDataset, set_random_seed

    torch.set_num_threads(1)
    set_random_seed(0)
    x, y = _data()

    class Progress(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if progress_fd is not None:
                os.write(progress_fd, b".")

    class Batches(PyDataset):
        def __init__(self):
            super().__init__(workers=2)

        def __len__(self):
            return 5

        def __getitem__(self, i):
            return x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH]

    model = Sequential(
        [
            layers.LSTM(6, dropout=0.2, recurrent_dropout=0.2, return_sequences=True, input_shape=(5, 3)),
            layers.GRU(4, dropout=0.1) if config == "sequence" else layers.LSTM(4),
            layers.Dropout(0.3),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    chosen = [
        callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1),
        callbacks.ModelCheckpoint(os.path.join(folder, "checkpoint.keras"), save_freq=4),
        Progress(),
    ]
    if resume:
        chosen.append(callbacks.BackupAndRestore(os.path.join(folder, "backup"), save_freq=3))
    if config == "arrays":
        model.fit(
            x, y, epochs=7, batch_size=BATCH, shuffle=True, validation_split=0.25, callbacks=chosen, verbose=0
        )
    else:
        model.fit(
            Batches(), epochs=7, shuffle=True, validation_data=(x[40:], y[40:]), callbacks=chosen, verbose=0
        )
    return np.concatenate([w.ravel() for w in model.get_weights()])


def _child(config, folder, progress_fd, resume, out):
    try:
        weights = _train(config, folder, progress_fd, resume)
        np.save(out, weights)
        os._exit(0)
    except BaseException:  # noqa: BLE001 - a child reports by its exit status
        import traceback

        traceback.print_exc()
        os._exit(3)


def _attempt(config, folder, out, kill_after: int | None, delay: float, resume=True):
    """One run; SIGKILLed once it has trained ``kill_after`` batches (plus ``delay`` s). True if it finished."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(config, folder, write_fd, resume, out)
    os.close(write_fd)
    seen, finished = 0, None
    while True:
        ready, _, _ = select.select([read_fd], [], [], 120)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise RuntimeError("a training child made no progress for 120 s")
        chunk = os.read(read_fd, 64)
        if not chunk:
            break
        seen += len(chunk)
        if kill_after is not None and seen >= kill_after:
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            break
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        if os.WEXITSTATUS(status) != 0:
            raise RuntimeError(f"a training child failed (exit {os.WEXITSTATUS(status)})")
        finished = True
    else:
        finished = False
    return finished, seen


def _position(path: str):
    """(epoch, batches of it done) of the backup a restart resumes from; None before the first backup."""
    if not os.path.exists(path):
        return None
    from lstmkit.saving.backup_file import read_training

    training = read_training(path)
    return [training["epoch"], training["step"]]


def main(config: str, folder: str, seeds: list[int]) -> dict:
    import lstmkit  # noqa: F401 - imported once here, before forking

    reference = os.path.join(folder, "reference.npy")
    _attempt(config, os.path.join(folder, "reference"), reference, None, 0.0, resume=False)
    expected = np.load(reference)
    report = {"config": config, "seeds": {}}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        work = os.path.join(folder, f"seed{seed}")
        os.makedirs(work, exist_ok=True)
        out = os.path.join(work, "final.npy")
        kills, resumed_from = [], []
        while True:
            kill_after = None if len(kills) >= 6 else int(rng.integers(1, 13))
            finished, seen = _attempt(config, work, out, kill_after, float(rng.uniform(0, 0.004)))
            if finished:
                break
            kills.append(seen)
            resumed_from.append(_position(os.path.join(work, "backup", "backup.lstmkit")))
        weights = np.load(out)
        report["seeds"][seed] = {
            "kills_after_batches": kills,
            "resumed_from": resumed_from,
            "max_difference": float(np.abs(weights - expected).max()),
            "backup_left": os.path.exists(os.path.join(work, "backup", "backup.lstmkit")),
        }
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]])))
