"""BackupAndRestore: a ``fit`` killed at any moment continues, when started again, exactly where its last
backup left it, and ends with the weights an uninterrupted run would have, bit for bit (on the CPU).

A backup holds the model's state and the optimizer's, the position (epoch and batch), the states of the
random generators that drive shuffling and dropout (now, and at the start of the epoch, whose shuffle
order is drawn from them), the epoch's running loss and metrics, and the other callbacks' own state
(EarlyStopping's patience count and best weights, ReduceLROnPlateau's, ModelCheckpoint's, ...; see
``Callback.backup_state``). It is one file (backup_file.py), written atomically, so a kill during a
backup leaves the previous one whole.

Resuming (``resumption``, called by the fit loop after ``on_train_begin``) puts all of that back and
makes the loop skip what was done: it starts at the backed-up epoch, draws that epoch's shuffle order
again from the epoch's starting generator state, passes over the batches already trained, and sets the
generators to their state after the last of them. Under torchrun every process's generators and running
logs are gathered into rank 0's backup and each process takes its own back; the job must restart with
the same number of processes.

Exact for arrays and Sequences (also with workers). A generator is read again from its start and the
batches already trained are passed over, so it must yield the same batches when restarted. State kept
inside user objects (a Sequence's ``on_epoch_end`` shuffling its own index) is not backed up.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import torch

from lstmkit import backend
from lstmkit.callbacks.base import Callback, check_frequency
from lstmkit.callbacks.hooks import add_hooks
from lstmkit.saving import random_state
from lstmkit.saving.archive import ModelFileError
from lstmkit.saving.backup_file import read_training, restore_model, write_backup
from lstmkit.saving.writing import check_directory

__all__ = ["BackupAndRestore", "resumption"]

BACKUP_FILE = "backup.lstmkit"
PREVIOUS_FILE = "backup-previous.lstmkit"


class BackupAndRestore(Callback):
    """``BackupAndRestore(backup_dir, save_freq='epoch', double_checkpoint=False, delete_checkpoint=True)``
    (Keras 3's arguments and behaviour).

    backup_dir: the directory of the backup; give every training its own (created if missing).
    save_freq: ``'epoch'`` (a backup after every epoch) or an integer N (after every N batches, counted
        across epochs): a kill then loses at most N batches of work.
    double_checkpoint: also keep the previous backup, used if the latest cannot be read.
    delete_checkpoint: delete the backup when ``fit`` completes (so the next run starts afresh).

    Start the same script again after a crash: the model must be built and compiled the same way; ``fit``
    then continues from the backup (the fit's arguments must be the same). It runs after every other
    callback, so that their state at the end of an epoch or batch is the one backed up.
    """

    runs_last = True

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        try:
            self.backup_dir = os.fspath(backup_dir)
        except TypeError:
            raise TypeError(
                f"backup_dir must be a path (str or os.PathLike). Received: {backup_dir!r}"
            ) from None
        if not self.backup_dir:
            raise ValueError("backup_dir must name a directory; received an empty path.")
        self.save_freq = check_frequency(save_freq, "save_freq", "BackupAndRestore")
        if self.save_freq != "epoch":  # the batch hooks only where they back up: no per-batch call otherwise
            add_hooks(
                self,
                {
                    "on_epoch_begin": BackupAndRestore._epoch_begin,
                    "on_train_batch_end": BackupAndRestore._backup_on_batch,
                },
            )
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.callback_list = None
        self._pending = None
        self._epoch = 0
        self._epoch_start = None
        self._batches_since_backup = 0
        self._initial_epoch = 0
        self._seed = None

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, BACKUP_FILE)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._batches_since_backup, self._pending = 0, None
        if backend.is_main_process():
            check_directory(self.backup_dir, "BackupAndRestore's backups")
        for path in (self.path, os.path.join(self.backup_dir, PREVIOUS_FILE)):
            if os.path.exists(path):
                self._pending = path
                break

    def _epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = random_state.capture(self.model)  # the state the epoch's shuffle order came from

    def _backup_on_batch(self, batch, logs=None):
        self._batches_since_backup += 1
        if self._batches_since_backup >= self.save_freq:
            self._batches_since_backup = 0
            self._backup(self._epoch, batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup(epoch + 1, 0, None)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and backend.is_main_process():
            for name in (BACKUP_FILE, PREVIOUS_FILE):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.backup_dir, name))

    # ------------------------------------------------------------------ backing up
    def _backup(self, epoch: int, step: int, logs) -> None:
        mine = {
            "rng": random_state.pack(random_state.capture(self.model)),
            "rng_epoch": None
            if step == 0 or self._epoch_start is None
            else random_state.pack(self._epoch_start),
            "logs": None if step == 0 else _logs_state(logs),
        }
        ranks = _gather(mine)
        if not backend.is_main_process():
            return
        optimizer = self.model.optimizer
        rate = None if optimizer is None else optimizer.learning_rate
        training = {
            "epoch": epoch,
            "step": step,
            "stopped": bool(self.model.stop_training),
            "initial_epoch": self._initial_epoch,
            "learning_rate": rate if isinstance(rate, (int, float)) else None,
            "seed": self._seed,
            "callbacks": _callback_states(self.callback_list, self),
            "ranks": ranks,
        }
        if self.double_checkpoint and os.path.exists(self.path):
            os.replace(self.path, os.path.join(self.backup_dir, PREVIOUS_FILE))
        write_backup(self.path, self.model, training)

    # ------------------------------------------------------------------ restoring (called by the loop)
    def resume(self, train, logs, initial_epoch):
        """Restore the pending backup (if any); the Resume the loop follows, or None."""
        self._initial_epoch, self._seed = initial_epoch, getattr(train, "seed", None)
        if self._pending is None:
            return None
        path, self._pending = self._pending, None
        return Resume(self, path, train, logs)


def resumption(callbacks, train, logs, initial_epoch) -> Resume | NoResume:
    """What the fit loop follows: a Resume from a BackupAndRestore callback's backup, or NoResume."""
    found = None
    for callback in callbacks.callbacks:
        resume = getattr(callback, "resume", None)
        if resume is not None:
            found = resume(train, logs, initial_epoch) or found
    return found or NoResume()


class NoResume:
    """A fit that starts where its arguments say."""

    def first_epoch(self, initial_epoch: int) -> int:
        return initial_epoch

    def batches(self, train, epoch: int, logs):
        return enumerate(train.batches(epoch))


class Resume:
    """A fit continuing from a backup: see the module docstring."""

    def __init__(self, callback: BackupAndRestore, path: str, train, logs):
        self.callback, self.model, self.path = callback, callback.model, path
        self.training = self._read(path, read_training)
        self._read(self.path, lambda p: restore_model(p, self.model))
        t = self.training
        self.epoch, self.step, self.stopped = int(t["epoch"]), int(t["step"]), bool(t["stopped"])
        ranks = t["ranks"]
        world = torch.distributed.get_world_size() if _distributed() else 1
        if len(ranks) != world:
            raise ValueError(
                f"The backup in '{callback.backup_dir}' was written by {len(ranks)} process(es), and this run has "
                f"{world}. Restart with the same number of processes, or delete the backup to start afresh."
            )
        self.mine = ranks[torch.distributed.get_rank() if _distributed() else 0]
        callback._initial_epoch = int(t["initial_epoch"])
        if t.get("seed") is not None and hasattr(train, "seed"):
            train.seed = callback._seed = t["seed"]
        if t.get("learning_rate") is not None and self.model.optimizer is not None:
            self.model.optimizer.learning_rate = t["learning_rate"]
        _restore_callback_states(callback.callback_list, callback, t["callbacks"])
        self.model.stop_training = self.stopped
        # The generators as they were when the epoch's shuffle order was drawn (mid-epoch), or now.
        start = self.mine["rng_epoch"] if self.step else self.mine["rng"]
        random_state.restore(self.model, random_state.unpack(*start))
        callback._epoch_start = None
        self.started = False

    def _read(self, path: str, read):
        try:
            return read(path)
        except ModelFileError as error:
            previous = os.path.join(self.callback.backup_dir, PREVIOUS_FILE)
            if path != previous and os.path.exists(previous):
                warnings.warn(
                    f"{error} Resuming from the previous backup instead.", UserWarning, stacklevel=3
                )
                self.path = previous
                return read(previous)
            raise ModelFileError(
                error.path,
                f"{error.problem} BackupAndRestore cannot resume from it; delete '{self.callback.backup_dir}' "
                "to start this training afresh.",
            ) from error

    def first_epoch(self, initial_epoch: int) -> int:
        if self.stopped and self.step == 0:
            return 1 << 62  # training had stopped (EarlyStopping, ...): nothing is left to run
        return self.epoch

    def batches(self, train, epoch: int, logs):
        if epoch != self.epoch or self.started:
            return enumerate(train.batches(epoch))
        self.started = True
        if hasattr(train, "_restartable") and not (train.steps is None and train._restartable):
            # An iterator kept across epochs (a generator) was read from the fit's first epoch on: read as far again.
            for earlier in range(self.callback._initial_epoch, epoch):
                for _ in train.batches(earlier):
                    pass
        return self._continue(train, epoch, logs)

    def _continue(self, train, epoch, logs):
        """The epoch's batches from where the backup was taken: the same order, the done ones passed over."""
        batches, last = train.batches(epoch), None
        for _ in range(self.step):
            last = next(batches, None)
            if last is None:
                break
        upcoming = None if self.stopped and self.step else next(batches, None)
        if self.step:
            random_state.restore(self.model, random_state.unpack(*self.mine["rng"]))
            _restore_logs(self.model, logs, self.mine["logs"], upcoming or last)
        if upcoming is None:
            return
        yield self.step, upcoming
        yield from enumerate(batches, self.step + 1)


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _gather(mine: dict) -> list:
    """Every process's ``mine``, in rank order (on every process; just ``[mine]`` without torchrun)."""
    if not _distributed() or torch.distributed.get_world_size() == 1:
        return [mine]
    gathered = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, mine)
    return gathered


# ---------------------------------------------------------------------------- the epoch's running logs
def _logs_state(logs) -> dict | None:
    if logs is None or not hasattr(logs, "loss_total"):
        return None
    return {
        "loss_total": None if logs.loss_total is None else logs.loss_total.detach().cpu(),
        "count": int(logs.count),
        "output_totals": [None if t is None else t.detach().cpu() for t in logs.output_totals],
        "metrics": [_metric_state(m) for m in logs.metrics or []],
    }


def _metric_state(metric) -> dict:
    return {
        key: (value.detach().cpu() if isinstance(value, torch.Tensor) else None)
        for key, value in vars(metric).items()
        if isinstance(value, torch.Tensor) or value is None
    }


def _restore_logs(model, logs, state, batch) -> None:
    if state is None or logs is None:
        return
    device = next(model.parameters()).device
    logs.loss_total = None if state["loss_total"] is None else state["loss_total"].to(device)
    logs.count = state["count"]
    logs.output_totals = [None if t is None else t.to(device) for t in state["output_totals"]]
    if state["metrics"] and logs.metrics is None and batch is not None:
        _resolve_metrics(model, logs, batch)
    for metric, saved in zip(logs.metrics or [], state["metrics"]):
        for key, value in saved.items():
            setattr(metric, key, None if value is None else value.to(device))


def _resolve_metrics(model, logs, batch) -> None:
    """Metrics are resolved from the first batch's shapes; a resumed epoch may have no batch left to
    train, so resolve them from shapes alone (no forward pass: that would draw random numbers)."""
    from lstmkit.training.structures import shapes

    xb, yb, _ = batch
    output = model.compute_output_shape(shapes(xb))

    def empty(shape):
        return torch.empty((0,) + tuple(1 if d is None else d for d in shape[1:]))

    logs.resolve(yb, [empty(s) for s in output] if isinstance(output, list) else empty(output))


# ---------------------------------------------------------------------------- the other callbacks
def _callback_states(callback_list, owner) -> list:
    if callback_list is None:
        return []
    return [
        {"class_name": type(cb).__name__, "state": cb.backup_state()}
        for cb in callback_list.callbacks
        if cb is not owner
    ]


def _restore_callback_states(callback_list, owner, saved: list) -> None:
    """Each callback takes the next saved state of its class, in order; callbacks that kept state and
    found none (or states left over) get a warning."""
    others = [cb for cb in (callback_list.callbacks if callback_list else []) if cb is not owner]
    unused = list(saved)
    unmatched = []
    for callback in others:
        entry = next((e for e in unused if e["class_name"] == type(callback).__name__), None)
        if entry is None:
            if callback.backup_state() is not None:
                unmatched.append(type(callback).__name__)
            continue
        unused.remove(entry)
        if entry["state"] is not None:
            callback.restore_state(entry["state"])
    unmatched += [e["class_name"] for e in unused if e["state"] is not None]
    if unmatched:
        warnings.warn(
            f"BackupAndRestore: the callbacks {unmatched} were not in both this fit and the one that wrote the "
            "backup, so their state could not be restored. Pass the same callbacks to resume exactly.",
            UserWarning,
            stacklevel=4,
        )
