"""The fit / evaluate / predict loops.

Array data is validated and moved to the device once per call; batches are cut by index on the device;
the loss and metrics accumulate on the device and are read back once per epoch (or when a progress line
is drawn). Sequences and generators are read batch by batch through the same loops (training/sources.py).
The model is known only through its interface: ``model(x)``, ``prepare_input(shape)``,
``compute_output_shape``, ``trainable_parameters()``, ``regularization_loss()``, ``stateful_batch_size()``.

Under torchrun (``distributed='auto'``, lstmkit/distributed) the same loops run in every process on its
share of the data, and a ``Run`` carries the collectives: one agreement before the first step (so an
error on one process stops all), rank 0's weights before the first batch, a gradient sum per step, and
the totals of the logs once per epoch. Without a Run (one process) the loops do none of that.
"""

from __future__ import annotations

import torch

from lstmkit import backend
from lstmkit.callbacks import CallbackList, History, ProgbarLogger
from lstmkit.distributed.context import Setup, guarded, run_for
from lstmkit.distributed.sharding import Shard, refuse_stateful
from lstmkit.distributed.sync import GradientSync, average_buffers, broadcast_model, gather_rows
from lstmkit.training.backward import backward
from lstmkit.training.compiled import inference_forward, train_step
from lstmkit.training.data import to_tensor
from lstmkit.training.inputs import (
    is_source,
    make_source,
    non_negative_int,
    optional_steps,
    positive_batch_size,
    prepare_arrays,
    split_validation,
    stateful_batch,
    verbosity,
)
from lstmkit.training.logs import EpochLogs
from lstmkit.training.threads import cpu_run, work_per_op

__all__ = ["evaluate", "fit", "predict", "predict_on_batch", "test_on_batch", "train_on_batch"]


def _callbacks(model, callbacks, verbose, epochs, steps, extra=()):
    progress = [ProgbarLogger()] if verbose and backend.is_main_process() else []
    return CallbackList(
        list(callbacks or []) + progress + list(extra),
        model,
        {"verbose": verbose, "epochs": epochs, "steps": steps},
    )


class TrainStep:
    """forward, loss, backward, optimizer update: one batch. Returns (loss, detached predictions).

    With a distributed ``run``: the first call gives every process rank 0's weights (the model is built
    by then, also from a Sequence), the loss is multiplied by ``scale`` (this process's share of the step)
    before backward, and the gradients are summed over the processes before the update."""

    def __init__(self, model, compiled, run=None):
        self.model, self.compiled, self.optimizer = model, compiled, compiled.optimizer
        self.run, self.params, self.sync = run, None, None
        self.broadcast_pending = run is not None
        if model.built:  # else the first batch builds it (a Sequence or generator), and the step binds then
            self._bind()

    def _bind(self):
        self.params = self.model.trainable_parameters()
        if not self.params:
            raise ValueError("The model has no trainable weights (every layer is frozen); nothing to fit.")
        if self.run is not None:
            self.sync = GradientSync(self.run, self.optimizer, self.params)

    def __call__(self, x, y, weight, scale=1.0):
        if self.params is None:
            self._bind()
        if self.broadcast_pending:
            broadcast_model(self.run, self.model, self.optimizer)
            self.broadcast_pending = False
        self.optimizer.zero_grad(self.params)
        pred = self.model(x, training=True)
        loss = self.compiled.loss_value(y, pred, weight)
        penalty = self.model.regularization_loss()
        total = loss if penalty is None else loss + penalty
        if self.sync is None:
            backward(total)
        else:
            (total * scale).backward()
            self.sync()
        self.optimizer.apply(self.params)
        detached = pred.detach()
        mask = getattr(pred, "_keras_mask", None)
        if mask is not None:
            detached._keras_mask = mask
        return total, detached


def _validation_due(epoch: int, validation_freq) -> bool:
    if isinstance(validation_freq, int):
        if validation_freq < 1:
            raise ValueError(f"validation_freq must be >= 1. Received: {validation_freq}")
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in set(validation_freq)


def _training_source(
    model,
    x,
    y,
    sample_weight,
    class_weight,
    batch_size,
    shuffle,
    steps,
    validation_split,
    validation_data,
    validation_batch_size,
    validation_steps,
    device,
    workers,
    max_queue_size,
    run=None,
):
    """(training source, validation source or None); with a distributed ``run``, this process's shares."""
    shard = val_shard = None
    if run is not None:
        shard, val_shard = Shard(run.rank, run.world_size, True), Shard(run.rank, run.world_size, False)
    if is_source(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                "When x is a generator or a Sequence, its batches carry the targets: leave y and "
                "sample_weight out (yield (x, y) or (x, y, sample_weight) instead)."
            )
        if validation_split:
            raise ValueError(
                "validation_split needs arrays; with a generator or Sequence pass validation_data."
            )
        train = make_source(
            model,
            x,
            device,
            None,
            shuffle,
            steps,
            class_weight,
            "the training data",
            workers,
            max_queue_size,
            shard=shard,
        )
        val_batch = positive_batch_size(validation_batch_size, 32)
    else:
        if y is None:
            raise ValueError("fit needs targets: model.fit(x, y, ...). Received y=None.")
        arrays = prepare_arrays(model, x, y, sample_weight, class_weight)
        val_arrays = None
        if validation_split and validation_data is None:
            arrays, val_arrays = split_validation(*arrays, validation_split)
        batch_size = stateful_batch(model, batch_size, arrays[0].shape[0], "fit")
        train = make_source(model, arrays, device, batch_size, shuffle, steps, shard=shard)
        val_batch = positive_batch_size(validation_batch_size, batch_size)
        if val_arrays is not None:
            stateful_batch(model, validation_batch_size, val_arrays[0].shape[0], "validation")
            return train, make_source(
                model, val_arrays, device, val_batch, steps=validation_steps, shard=val_shard
            )
    if validation_data is None:
        return train, None
    if is_source(validation_data):
        return train, make_source(
            model,
            validation_data,
            device,
            None,
            steps=validation_steps,
            what="validation_data",
            shard=val_shard,
        )
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), "
            "or a generator/Sequence of such batches."
        )
    val_arrays = prepare_arrays(model, *validation_data, what="x_val (validation_data)")
    stateful_batch(model, validation_batch_size, val_arrays[0].shape[0], "validation")
    return train, make_source(model, val_arrays, device, val_batch, steps=validation_steps, shard=val_shard)


def fit(
    model,
    x=None,
    y=None,
    batch_size=None,
    epochs=1,
    verbose="auto",
    callbacks=None,
    validation_split=0.0,
    validation_data=None,
    shuffle=True,
    class_weight=None,
    sample_weight=None,
    initial_epoch=0,
    steps_per_epoch=None,
    validation_steps=None,
    validation_batch_size=None,
    validation_freq=1,
    workers=None,
    max_queue_size=None,
    distributed="auto",
):
    compiled = model.require_compiled("fit")
    run = run_for(distributed, "fit")
    # What every process takes from rank 0: the shuffle seed (drawn from rank 0's global RNG, so that
    # torch.manual_seed there fixes the order) and the optimizer's step count.
    share = (
        None
        if run is None
        else {"seed": int(torch.randint(0, 2**62, ())), "optimizer": compiled.optimizer.state_scalars()}
    )
    with Setup(run, share) as setup:
        verbose = verbosity(verbose)
        if batch_size is not None:
            positive_batch_size(batch_size)
        epochs, initial_epoch = (
            non_negative_int(epochs, "epochs"),
            non_negative_int(initial_epoch, "initial_epoch"),
        )
        steps_per_epoch = optional_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = optional_steps(validation_steps, "validation_steps")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch'. Received: shuffle={shuffle!r}")
        if run is not None:
            refuse_stateful(model, "fit")
        device = model.place(backend.device() if run is None else run.device)
        train, val = _training_source(
            model,
            x,
            y,
            sample_weight,
            class_weight,
            batch_size,
            shuffle,
            steps_per_epoch,
            validation_split,
            validation_data,
            validation_batch_size,
            validation_steps,
            device,
            workers,
            max_queue_size,
            run,
        )
        logs = EpochLogs(compiled)
        history = History()
        cbs = _callbacks(model, callbacks, verbose, epochs, train.steps, extra=[history])
        step = train_step(model, compiled, TrainStep(model, compiled, run), run, _total_steps(train, epochs))
        if run is not None:
            # What must agree for every process to run the same collectives (steps, epochs, validations).
            setup.facts = {
                "training_data": train.facts,
                "validation_data": getattr(val, "facts", None),
                "training_plan": f"epochs {initial_epoch}..{epochs}, {train.steps} steps per epoch, "
                f"shuffle={shuffle!r}, validation_freq={validation_freq!r}",
            }
    if run is not None:
        train.seed = run.shared["seed"]
        compiled.optimizer.load_state_scalars(run.shared["optimizer"])

    with cpu_run(device, _work(model, train)), guarded(run):
        epoch_logs = _train_epochs(
            model, train, val, logs, cbs, step, initial_epoch, epochs, validation_freq, run
        )
    cbs.call("on_train_end", epoch_logs)
    model.history = history
    return history


def _train_epochs(
    model, train, val, logs, cbs, step, initial_epoch, epochs, validation_freq, run=None
) -> dict:
    """The epoch loop of fit; returns the last epoch's logs."""
    per_batch, wants_batch_begin = cbs.wants("on_train_batch_end"), cbs.wants("on_train_batch_begin")
    model.stop_training = False
    cbs.call("on_train_begin", None)
    epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        logs.reset()
        cbs.call("on_epoch_begin", epoch, None)
        for index, (xb, yb, wb) in enumerate(train.batches(epoch)):
            if wants_batch_begin:
                cbs.call("on_train_batch_begin", index, None)
            if run is None:
                loss, pred = step(xb, yb, wb)
                logs.update(loss, yb.shape[0], yb, pred, wb)
            else:
                scale, counted = train.share(index, yb.shape[0])
                loss, pred = step(xb, yb, wb, scale)
                if counted:
                    logs.update(loss, counted, yb, pred, wb)
                else:  # a padding batch: trained with factor 0, not counted
                    logs.resolve(yb, pred)
            if per_batch:
                cbs.call("on_train_batch_end", index, logs)
            if model.stop_training and run is None:  # under torchrun: at the epoch's end, by all processes
                break
        train.end_epoch()
        if getattr(train, "exhausted", False) and logs.count == 0:
            break  # a generator ran dry: nothing was trained in this epoch
        if run is not None:
            logs.synchronize(run.sum_, run.device)
            average_buffers(run, model)
        epoch_logs = logs.results()
        if val is not None and _validation_due(epoch, validation_freq):
            epoch_logs.update({"val_" + k: v for k, v in run_evaluation(model, val, run=run).items()})
        cbs.call("on_epoch_end", epoch, epoch_logs)
        stop = model.stop_training or getattr(train, "exhausted", False)
        if run is not None:  # one process's callback (rank 0's, say) stops every process
            stop = model.stop_training = run.any(stop)
        if stop:
            break
    return epoch_logs


def _total_steps(source, epochs):
    return None if source.steps is None else source.steps * epochs


def _work(model, source):
    """Multiply-adds of the largest operation of one batch: picks the CPU threads."""
    return work_per_op(model, getattr(source, "batch_size", None))


def run_evaluation(model, source, callbacks=None, run=None, sync_weights=False) -> dict:
    """Loss and metrics over every batch of ``source``, in inference mode; with a distributed ``run``,
    over every process's share (and, with ``sync_weights``, from rank 0's weights)."""
    compiled = model.compiled
    logs = EpochLogs(compiled)
    forward = inference_forward(model) if run is None else model
    with torch.inference_mode():
        for index, (xb, yb, wb) in enumerate(source.batches(0)):
            if sync_weights and index == 0:
                _broadcast_weights(run, model)
            pred = forward(xb, training=False)
            loss = compiled.loss_value(yb, pred, wb)
            penalty = model.regularization_loss()
            loss = loss if penalty is None else loss + penalty
            counted = yb.shape[0] if run is None else source.share(index, yb.shape[0])[1]
            if counted:
                logs.update(loss, counted, yb, pred, wb)
            else:
                logs.resolve(yb, pred)
            if callbacks is not None:
                callbacks.call("on_test_batch_end", index, logs)
    source.end_epoch()
    if run is not None:
        logs.synchronize(run.sum_, run.device)
    return logs.results()


def _broadcast_weights(run, model):
    """Rank 0's weights, before the first batch of evaluate/predict (built by then, also from a Sequence)."""
    with torch.inference_mode(False):
        broadcast_model(run, model)


def _open_source(model, run, x, steps, action, what, workers, max_queue_size):
    """The device, and a source for Sequence/generator data (None for arrays), of evaluate/predict; under
    torchrun with this process's share, and stateful models refused."""
    if run is not None:
        refuse_stateful(model, action)
    device = model.place(backend.device() if run is None else run.device)
    shard = None if run is None else Shard(run.rank, run.world_size, False)
    source = None
    if is_source(x):
        source = make_source(
            model,
            x,
            device,
            None,
            steps=steps,
            what=f"the {what} data",
            workers=workers,
            max_queue_size=max_queue_size,
            shard=shard,
        )
    return device, shard, source


def evaluate(
    model,
    x=None,
    y=None,
    batch_size=None,
    verbose="auto",
    sample_weight=None,
    steps=None,
    callbacks=None,
    return_dict=False,
    workers=None,
    max_queue_size=None,
    distributed="auto",
):
    model.require_compiled("evaluate")
    run = run_for(distributed, "evaluate")
    with Setup(run) as setup:
        verbose, steps = verbosity(verbose), optional_steps(steps, "steps")
        device, shard, source = _open_source(
            model, run, x, steps, "evaluate", "evaluation", workers, max_queue_size
        )
        if source is None:
            if y is None:
                raise ValueError("evaluate needs targets: model.evaluate(x, y). Received y=None.")
            arrays = prepare_arrays(model, x, y, sample_weight)
            batch_size = stateful_batch(model, batch_size, arrays[0].shape[0], "evaluate")
            source = make_source(model, arrays, device, batch_size, steps=steps, shard=shard)
        cbs = _callbacks(model, callbacks, verbose, 1, source.steps)
        if run is not None:
            setup.facts = {"evaluation_data": source.facts}
    cbs.call("on_test_begin", None)
    with cpu_run(device, _work(model, source)), guarded(run):
        results = run_evaluation(
            model,
            source,
            cbs if cbs.wants("on_test_batch_end") else None,
            run=run,
            sync_weights=run is not None,
        )
    cbs.call("on_test_end", results)
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def predict(
    model,
    x,
    batch_size=None,
    verbose="auto",
    steps=None,
    callbacks=None,
    workers=None,
    max_queue_size=None,
    distributed="auto",
):
    run = run_for(distributed, "predict")
    with Setup(run) as setup:
        verbose, steps = verbosity(verbose), optional_steps(steps, "steps")
        device, shard, source = _open_source(
            model, run, x, steps, "predict", "prediction", workers, max_queue_size
        )
        n = None
        if source is None:
            # Converted batch by batch below: a float64 input is never copied whole.
            x = to_tensor(x, "x", integer=model.input_dtype == "int", keep_float_dtype=True)
            model.check_input_values(x)
            model.prepare_input(tuple(x.shape))
            n = None if run is not None else x.shape[0]  # this process's rows are known batch by batch
            source = make_source(
                model,
                (x, None, None),
                torch.device("cpu"),
                stateful_batch(model, batch_size, x.shape[0], "predict"),
                steps=steps,
                shard=shard,
            )
        cbs = _callbacks(model, callbacks, verbose, 1, source.steps)
        if run is not None:
            setup.facts = {"prediction_data": source.facts}
    cbs.call("on_predict_begin", None)
    forward = inference_forward(model) if run is None else model
    output, pieces, filled = None, [], 0
    with torch.inference_mode(), cpu_run(device, _work(model, source)), guarded(run):
        for index, (xb, _, _) in enumerate(source.batches(0)):
            if run is not None and index == 0:
                _broadcast_weights(run, model)
            dtype = backend.float_dtype() if xb.is_floating_point() else xb.dtype
            pred = forward(xb.to(device=device, dtype=dtype, non_blocking=True), training=False)
            if n is None:
                if run is not None and not source.share(index, pred.shape[0])[1]:
                    pred = pred[:0]  # a padding sample: keeps the output's trailing shape only
                pieces.append(pred)
            else:  # filled batch by batch: memory is the output plus one batch
                if output is None:
                    output = torch.empty((n,) + tuple(pred.shape[1:]), dtype=pred.dtype, device=device)
                output[filled : filled + pred.shape[0]] = pred
                filled += pred.shape[0]
            cbs.call("on_predict_batch_end", index, None)
        source.end_epoch()
        if n is None:
            output = torch.cat(pieces)
            if run is not None:  # every process's rows in rank order: the original order, on every process
                output = gather_rows(run, output)
        elif filled < n:
            output = output[:filled]  # steps= stopped early
    cbs.call("on_predict_end", None)
    return output.cpu().numpy()


# ---------------------------------------------------------------------------- single batches
def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    """One gradient step on one batch; returns the loss (and metrics) of that batch."""
    compiled = model.require_compiled("train_on_batch")
    device = model.place(backend.device())
    x, y, w = (
        None if t is None else t.to(device) for t in prepare_arrays(model, x, y, sample_weight, class_weight)
    )
    logs = EpochLogs(compiled)
    with cpu_run(device, work_per_op(model, y.shape[0])):
        loss, pred = TrainStep(model, compiled)(x, y, w)
    logs.update(loss, y.shape[0], y, pred, w)
    return _batch_result(logs.results(), return_dict)


def test_on_batch(model, x, y, sample_weight=None, return_dict=False):
    model.require_compiled("test_on_batch")
    device = model.place(backend.device())
    arrays = prepare_arrays(model, x, y, sample_weight)
    source = make_source(model, arrays, device, arrays[0].shape[0])
    with cpu_run(device, _work(model, source)):
        return _batch_result(run_evaluation(model, source), return_dict)


def predict_on_batch(model, x):
    return predict(
        model, x, batch_size=len(x) if hasattr(x, "__len__") else None, verbose=0, distributed=False
    )


def _batch_result(results: dict, return_dict: bool):
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values
