"""A data-parallel fit with BackupAndRestore under torchrun, run by test_resume.py:

    torchrun --nproc_per_node=2 --max-restarts=N torchrun_resume.py OUT reference|killed SEED

``reference``: the uninterrupted 2-process run (no backups). ``killed``: the same training with
BackupAndRestore(save_freq=2); in every attempt but the last, one rank (chosen by SEED and the attempt)
SIGKILLs itself after a random number of batches, torchrun stops the other and starts the group again,
and the new processes resume from the backup. Rank 0 writes the final weights to OUT/<mode>.npy and the
backup positions resumed from to OUT/<mode>-resumed.json.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np
import torch

from lstmkit import callbacks, layers
from lstmkit.distributed import rank
from lstmkit.models import Sequential
from lstmkit.utils import set_random_seed


def main(out: str, mode: str, seed: int) -> None:
    torch.set_num_threads(1)
    attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    kills = 2  # attempts 0 and 1 are killed; attempt 2 finishes
    set_random_seed(0)
    data = np.random.default_rng(0)
    x = data.normal(size=(64, 5, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1, keepdims=True) * 0.3).astype("float32")
    model = Sequential(
        [
            layers.LSTM(6, dropout=0.2, recurrent_dropout=0.2, input_shape=(5, 3)),
            layers.Dropout(0.3),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    chosen = [callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)]
    backup_dir = os.path.join(out, "backup")
    if mode == "killed":
        rng = np.random.default_rng([seed, attempt])
        victim, after = int(rng.integers(0, 2)), int(rng.integers(2, 9))

        class Die(callbacks.Callback):
            seen = 0

            def on_train_batch_end(self, batch, logs=None):
                self.seen += 1
                if attempt < kills and rank() == victim and self.seen == after:
                    os.kill(os.getpid(), signal.SIGKILL)

        chosen += [Die(), callbacks.BackupAndRestore(backup_dir, save_freq=2)]
        if rank() == 0 and os.path.exists(os.path.join(backup_dir, "backup.lstmkit")):
            from lstmkit.saving.backup_file import read_training

            training = read_training(os.path.join(backup_dir, "backup.lstmkit"))
            with open(os.path.join(out, f"resumed-{attempt}.json"), "w") as f:
                json.dump([training["epoch"], training["step"]], f)
    # 4 steps of 2 x 8 samples per epoch (48 training samples after the validation split)
    model.fit(x, y, epochs=5, batch_size=8, shuffle=True, validation_split=0.25, callbacks=chosen, verbose=0)
    if rank() == 0:
        np.save(os.path.join(out, f"{mode}.npy"), np.concatenate([w.ravel() for w in model.get_weights()]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
