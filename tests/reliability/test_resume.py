"""Exact resume after a crash (issue 13, item 1): BackupAndRestore.

The kill-and-resume test runs tests/reliability/kill_and_resume.py in its own process: children
training with shuffling, dropout and recurrent dropout, Adam, a validation split (or a Sequence read by
worker threads), EarlyStopping, ReduceLROnPlateau and ModelCheckpoint are SIGKILLed at random moments and
restarted until they finish; their final weights must equal an uninterrupted run's exactly. The other
tests interrupt a fit in-process (an exception from a callback) to check the callback's other promises.
"""

import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from lstmkit import callbacks, layers
from lstmkit.models import Sequential
from lstmkit.saving import ModelFileError
from lstmkit.utils import set_random_seed

from ..subprocesses import ROOT, child_env, run_python

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5, 3)).astype("float32")
Y = (X[:, :, 0].sum(axis=1, keepdims=True) * 0.3).astype("float32")


@pytest.mark.parametrize("config, seeds", [("arrays", [11, 12, 13]), ("sequence", [21, 22])])
def test_a_fit_killed_at_random_moments_resumes_to_bit_identical_weights(tmp_path, config, seeds):
    result = run_python("-m", "tests.reliability.kill_and_resume", config, tmp_path, *seeds, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    positions = []
    for seed, outcome in report["seeds"].items():
        assert outcome["kills_after_batches"], (seed, outcome)  # killed at least once
        assert outcome["max_difference"] == 0.0, (seed, outcome)
        assert not outcome["backup_left"], (seed, outcome)  # deleted once fit completed
        positions += [p for p in outcome["resumed_from"] if p is not None]
    assert sum(len(o["kills_after_batches"]) for o in report["seeds"].values()) >= 2 * len(seeds)
    assert any(step > 0 for _, step in positions), positions  # some restarts resumed mid-epoch


# ---------------------------------------------------------------------------- in-process interruptions
class Interrupt(Exception):
    pass


class StopAt(callbacks.Callback):
    """Raises after ``at`` training batches: fit ends as if the process had died there."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise Interrupt


def _fit(backup_dir, stop_at=None, epochs=5, extra=(), **backup):
    set_random_seed(0)
    model = Sequential(
        [layers.LSTM(5, dropout=0.2, input_shape=(5, 3)), layers.Dropout(0.2), layers.Dense(1)]
    )
    model.compile("adam", "mse")
    chosen = [*extra, callbacks.BackupAndRestore(str(backup_dir), **backup)]
    if stop_at is not None:
        chosen.insert(0, StopAt(stop_at))
    try:
        history = model.fit(X, Y, epochs=epochs, batch_size=8, shuffle=True, verbose=0, callbacks=chosen)
    except Interrupt:
        return model, None
    return model, history


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_epoch_backups_resume_exactly_and_are_deleted_at_the_end(tmp_path):
    reference, _ = _fit(tmp_path / "ref")
    _, interrupted = _fit(tmp_path / "b", stop_at=12)  # in epoch 3: the backup of epoch 2's end is used
    assert interrupted is None and (tmp_path / "b" / "backup.lstmkit").exists()
    resumed, history = _fit(tmp_path / "b")
    assert len(history.history["loss"]) == 3  # epochs 3, 4, 5 only, as Keras
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))
    assert not (tmp_path / "b" / "backup.lstmkit").exists()


def _batches_forever():
    """A generator as tutorials write them: endless, the same batches in the same order on every start."""
    while True:
        for start in range(0, 40, 8):
            yield X[start : start + 8], Y[start : start + 8]


def test_a_generator_is_read_past_what_was_trained(tmp_path):
    def fit(backup_dir, stop_at=None):
        set_random_seed(0)
        model = Sequential([layers.LSTM(5, dropout=0.2, input_shape=(5, 3)), layers.Dense(1)])
        model.compile("adam", "mse")
        chosen = [callbacks.BackupAndRestore(str(backup_dir), save_freq=3)]
        if stop_at:
            chosen.insert(0, StopAt(stop_at))
        try:
            model.fit(_batches_forever(), steps_per_epoch=4, epochs=4, verbose=0, callbacks=chosen)
        except Interrupt:
            return None
        return _weights(model)

    reference = fit(tmp_path / "ref")
    assert fit(tmp_path / "b", stop_at=11) is None  # the backup after batch 9: epoch 3, 1 batch done
    np.testing.assert_array_equal(fit(tmp_path / "b"), reference)


def test_delete_checkpoint_false_keeps_the_backup_and_a_rerun_has_nothing_left_to_do(tmp_path):
    first, _ = _fit(tmp_path / "b", delete_checkpoint=False)
    assert (tmp_path / "b" / "backup.lstmkit").exists()
    again, history = _fit(tmp_path / "b", delete_checkpoint=False)
    assert history.history == {}
    np.testing.assert_array_equal(_weights(again), _weights(first))


class DieAtTheEnd(callbacks.Callback):
    """Dies after training, before BackupAndRestore deletes its backup (it runs after the others)."""

    def on_train_end(self, logs=None):
        raise Interrupt


def test_a_stop_by_early_stopping_is_part_of_the_backup(tmp_path):
    def stopper():
        return [callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9, restore_best_weights=True)]

    reference, history = _fit(tmp_path / "ref", extra=stopper(), epochs=6)
    assert len(history.history["loss"]) == 2  # stopped early
    _, interrupted = _fit(tmp_path / "b", extra=[*stopper(), DieAtTheEnd()], epochs=6)
    assert interrupted is None
    assert (tmp_path / "b" / "backup.lstmkit").exists()
    resumed, history = _fit(tmp_path / "b", extra=stopper(), epochs=6)
    assert history.history == {}  # the backup says training had stopped: nothing more to train
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))  # the best weights restored


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    reference, _ = _fit(tmp_path / "ref")
    _fit(tmp_path / "b", stop_at=17, save_freq=3, double_checkpoint=True)
    assert (tmp_path / "b" / "backup-previous.lstmkit").exists()
    with open(tmp_path / "b" / "backup.lstmkit", "r+b") as f:
        f.truncate(100)  # damaged after it was written
    with pytest.warns(UserWarning, match="previous backup"):
        resumed, _ = _fit(tmp_path / "b", save_freq=3, double_checkpoint=True)
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))


def test_a_backup_of_another_model_is_refused_with_a_way_out(tmp_path):
    _fit(tmp_path / "b", stop_at=6)
    set_random_seed(0)
    other = Sequential([layers.GRU(5, input_shape=(5, 3)), layers.Dense(1)])
    other.compile("adam", "mse")
    with pytest.raises(ModelFileError, match=r"another model.*delete '.*b' to start this training afresh"):
        other.fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(str(tmp_path / "b"))])


@pytest.mark.parametrize(
    "kwargs, error, phrase",
    [
        ({"save_freq": "batch"}, ValueError, "save_freq must be 'epoch'"),
        ({"save_freq": 0}, ValueError, "positive integer"),
        ({"save_freq": 2.0}, TypeError, "Use save_freq=2"),
    ],
)
def test_arguments_are_checked(tmp_path, kwargs, error, phrase):
    with pytest.raises(error, match=phrase):
        callbacks.BackupAndRestore(str(tmp_path), **kwargs)


def test_an_unwritable_backup_dir_fails_before_training(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"BackupAndRestore.*afile.*is a file"):
        _fit(tmp_path / "afile" / "backup")
    shutil.rmtree(tmp_path / "afile", ignore_errors=True)


# ---------------------------------------------------------------------------- under torchrun
def _torchrun(script_args, out, restarts):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = child_env(LSTMKIT_DISTRIBUTED_TIMEOUT="60", LSTMKIT_DEVICE="cpu")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"):
        env.pop(name, None)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--max-restarts={restarts}",
        f"--master_port={port}",
        os.path.join(ROOT, "tests", "reliability", "torchrun_resume.py"),
        str(out),
        *script_args,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_a_rank_killed_under_torchrun_resumes_to_the_uninterrupted_weights(tmp_path):
    """2 processes; in two attempts one rank SIGKILLs itself mid-epoch, torchrun restarts the group
    (--max-restarts) and it resumes from the backup; the weights equal an uninterrupted 2-process run's."""
    _torchrun(["reference", "0"], tmp_path, restarts=0)
    _torchrun(["killed", "7"], tmp_path, restarts=3)
    resumed = [json.loads((tmp_path / f"resumed-{attempt}.json").read_text()) for attempt in (1, 2)]
    assert any(step > 0 for _, step in resumed), resumed  # a restart resumed mid-epoch
    np.testing.assert_array_equal(np.load(tmp_path / "killed.npy"), np.load(tmp_path / "reference.npy"))
    assert not (tmp_path / "backup" / "backup.lstmkit").exists()
