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
from lstmkit.callbacks.backup_and_restore import resumption
from lstmkit.callbacks.base import as_callback_list
from lstmkit.callbacks.divergence import LossWatch
from lstmkit.distributed.context import Setup, guarded, run_for
from lstmkit.distributed.sharding import Shard, refuse_stateful
from lstmkit.distributed.sync import average_buffers, broadcast_model
from lstmkit.training.compiled import inference_forward, train_step
from lstmkit.training.inputs import (
    convert_inputs,
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
from lstmkit.training.logs import EpochLogs, returned_values
from lstmkit.training.predictions import collect_predictions
from lstmkit.training.step import TrainStep, forward_and_loss
from lstmkit.training.structures import batch_shapes, batch_size_of
from lstmkit.training.threads import cpu_run, work_per_op
from lstmkit.utils.checks import check_int, is_int, mentioned

__all__ = ["evaluate", "fit", "predict"]


def _callbacks(model, callbacks, verbose, epochs, steps, extra=()):
    progress = [ProgbarLogger()] if verbose and backend.is_main_process() else []
    return CallbackList(
        as_callback_list(callbacks) + progress + list(extra),
        model,
        {"verbose": verbose, "epochs": epochs, "steps": steps},
    )


def _validation_due(epoch: int, validation_freq) -> bool:
    if is_int(validation_freq):
        return (epoch + 1) % check_int(validation_freq, "validation_freq", 1) == 0
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
        batch_size = stateful_batch(model, batch_size, batch_size_of(arrays[0]), "fit")
        train = make_source(model, arrays, device, batch_size, shuffle, steps, shard=shard)
        val_batch = positive_batch_size(validation_batch_size, batch_size)
        if val_arrays is not None:
            stateful_batch(model, validation_batch_size, batch_size_of(val_arrays[0]), "validation")
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
    with mentioned("validation_data (the validation set, not the training data)"):
        val_arrays = prepare_arrays(model, *validation_data, what="x_val (validation_data)")
    stateful_batch(model, validation_batch_size, batch_size_of(val_arrays[0]), "validation")
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
        cbs = _callbacks(model, callbacks, verbose, epochs, train.steps, extra=[history, LossWatch()])
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
    resume = resumption(cbs, train, logs, initial_epoch)  # BackupAndRestore: continue from its backup
    epoch_logs = {}
    for epoch in range(resume.first_epoch(initial_epoch), epochs):
        logs.reset()
        cbs.call("on_epoch_begin", epoch, None)
        for index, (xb, yb, wb) in resume.batches(train, epoch, logs):
            if wants_batch_begin:
                cbs.call("on_train_batch_begin", index, None)
            if run is None:
                loss, parts, pred = step(xb, yb, wb)
                logs.update(loss, batch_size_of(yb), yb, pred, wb, parts)
            else:
                scale, counted = train.share(index, batch_size_of(yb))
                loss, parts, pred = step(xb, yb, wb, scale)
                if counted:
                    logs.update(loss, counted, yb, pred, wb, parts)
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
                broadcast_model(run, model)  # rank 0's weights, before the first batch (built by then)
            loss, parts, pred = forward_and_loss(model, compiled, xb, yb, wb, training=False, forward=forward)
            n = batch_size_of(yb)
            counted = n if run is None else source.share(index, n)[1]
            if counted:
                logs.update(loss, counted, yb, pred, wb, parts)
            else:
                logs.resolve(yb, pred)
            if callbacks is not None:
                callbacks.call("on_test_batch_end", index, logs)
    source.end_epoch()
    if run is not None:
        logs.synchronize(run.sum_, run.device)
    return logs.results()


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
            batch_size = stateful_batch(model, batch_size, batch_size_of(arrays[0]), "evaluate")
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
    return returned_values(results, return_dict, model.compiled)


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
            x = convert_inputs(model, x, "x", keep_float_dtype=True)
            model.check_input_values(x)
            model.prepare_input(batch_shapes(x))
            n = None if run is not None else batch_size_of(x)  # this process's rows come batch by batch
            source = make_source(
                model,
                (x, None, None),
                torch.device("cpu"),
                stateful_batch(model, batch_size, batch_size_of(x), "predict"),
                steps=steps,
                shard=shard,
            )
        cbs = _callbacks(model, callbacks, verbose, 1, source.steps)
        if run is not None:
            setup.facts = {"prediction_data": source.facts}
    cbs.call("on_predict_begin", None)
    forward = inference_forward(model) if run is None else model
    with torch.inference_mode(), cpu_run(device, _work(model, source)), guarded(run):
        outputs = collect_predictions(model, source, device, n, run, cbs, forward)
    cbs.call("on_predict_end", None)
    return outputs
