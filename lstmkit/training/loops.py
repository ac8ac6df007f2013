"""The fit / evaluate / predict loops.

Array data is validated and moved to the device once per call; batches are cut by index on the device;
the loss and metrics accumulate on the device and are read back once per epoch (or when a progress line
is drawn). Sequences and generators are read batch by batch through the same loops (training/sources.py).
The model is known only through its interface: ``model(x)``, ``prepare_input(shape)``,
``compute_output_shape``, ``trainable_parameters()``, ``regularization_loss()``, ``stateful_batch_size()``.
"""

from __future__ import annotations

import torch

from lstmkit import backend
from lstmkit.callbacks import CallbackList, History, ProgbarLogger
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
from lstmkit.training.threads import threads_for, work_per_batch

__all__ = ["evaluate", "fit", "predict", "predict_on_batch", "test_on_batch", "train_on_batch"]


def _callbacks(model, callbacks, verbose, epochs, steps, extra=()):
    progress = [ProgbarLogger()] if verbose and backend.is_main_process() else []
    return CallbackList(list(callbacks or []) + progress + list(extra), model,
                        {"verbose": verbose, "epochs": epochs, "steps": steps})


class TrainStep:
    """forward, loss, backward, optimizer update: one batch. Returns (loss, detached predictions)."""

    def __init__(self, model, compiled):
        self.model, self.compiled, self.optimizer = model, compiled, compiled.optimizer
        self.params = model.trainable_parameters()
        if not self.params:
            raise ValueError("The model has no trainable weights (every layer is frozen); nothing to fit.")

    def __call__(self, x, y, weight):
        self.optimizer.zero_grad(self.params)
        pred = self.model(x)
        loss = self.compiled.loss_value(y, pred, weight)
        penalty = self.model.regularization_loss()
        total = loss if penalty is None else loss + penalty
        total.backward()
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


def _training_source(model, x, y, sample_weight, class_weight, batch_size, shuffle, steps, validation_split,
                     validation_data, validation_batch_size, validation_steps, device, workers, max_queue_size):
    """(training source, validation source or None)."""
    if is_source(x):
        if y is not None or sample_weight is not None:
            raise ValueError("When x is a generator or a Sequence, its batches carry the targets: leave y and "
                             "sample_weight out (yield (x, y) or (x, y, sample_weight) instead).")
        if validation_split:
            raise ValueError("validation_split needs arrays; with a generator or Sequence pass validation_data.")
        train = make_source(model, x, device, None, shuffle, steps, class_weight, "the training data",
                            workers, max_queue_size)
        val_batch = positive_batch_size(validation_batch_size, 32)
    else:
        if y is None:
            raise ValueError("fit needs targets: model.fit(x, y, ...). Received y=None.")
        arrays = prepare_arrays(model, x, y, sample_weight, class_weight)
        val_arrays = None
        if validation_split and validation_data is None:
            arrays, val_arrays = split_validation(*arrays, validation_split)
        batch_size = stateful_batch(model, batch_size, arrays[0].shape[0], "fit")
        train = make_source(model, arrays, device, batch_size, shuffle, steps)
        val_batch = positive_batch_size(validation_batch_size, batch_size)
        if val_arrays is not None:
            stateful_batch(model, validation_batch_size, val_arrays[0].shape[0], "validation")
            return train, make_source(model, val_arrays, device, val_batch, steps=validation_steps)
    if validation_data is None:
        return train, None
    if is_source(validation_data):
        return train, make_source(model, validation_data, device, None, steps=validation_steps,
                                  what="validation_data")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), "
                         "or a generator/Sequence of such batches.")
    val_arrays = prepare_arrays(model, *validation_data, what="x_val (validation_data)")
    stateful_batch(model, validation_batch_size, val_arrays[0].shape[0], "validation")
    return train, make_source(model, val_arrays, device, val_batch, steps=validation_steps)


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
        workers=None, max_queue_size=None):
    compiled = model.require_compiled("fit")
    verbose = verbosity(verbose)
    if batch_size is not None:
        positive_batch_size(batch_size)
    epochs, initial_epoch = non_negative_int(epochs, "epochs"), non_negative_int(initial_epoch, "initial_epoch")
    steps_per_epoch = optional_steps(steps_per_epoch, "steps_per_epoch")
    validation_steps = optional_steps(validation_steps, "validation_steps")
    if shuffle not in (True, False, "batch"):
        raise ValueError(f"shuffle must be True, False or 'batch'. Received: shuffle={shuffle!r}")
    device = model.place(backend.device())
    train, val = _training_source(model, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
                                  validation_split, validation_data, validation_batch_size, validation_steps,
                                  device, workers, max_queue_size)
    logs = EpochLogs(compiled)
    history = History()
    cbs = _callbacks(model, callbacks, verbose, epochs, train.steps, extra=[history])
    step = TrainStep(model, compiled)

    with threads_for(device, _work(model, train)):
        epoch_logs = _train_epochs(model, train, val, logs, cbs, step, initial_epoch, epochs, validation_freq)
    cbs.call("on_train_end", epoch_logs)
    model.history = history
    return history


def _train_epochs(model, train, val, logs, cbs, step, initial_epoch, epochs, validation_freq) -> dict:
    """The epoch loop of fit; returns the last epoch's logs."""
    per_batch, wants_batch_begin = cbs.wants("on_train_batch_end"), cbs.wants("on_train_batch_begin")
    model.stop_training = False
    cbs.call("on_train_begin", None)
    epoch_logs = {}
    model.train()
    for epoch in range(initial_epoch, epochs):
        if not model.training:  # validation or a callback switched to inference mode
            model.train()
        logs.reset()
        cbs.call("on_epoch_begin", epoch, None)
        for index, (xb, yb, wb) in enumerate(train.batches(epoch)):
            if wants_batch_begin:
                cbs.call("on_train_batch_begin", index, None)
            loss, pred = step(xb, yb, wb)
            logs.update(loss, yb.shape[0], yb, pred, wb)
            if per_batch:
                cbs.call("on_train_batch_end", index, logs)
            if model.stop_training:
                break
        train.end_epoch()
        if getattr(train, "exhausted", False) and logs.count == 0:
            break  # a generator ran dry: nothing was trained in this epoch
        epoch_logs = logs.results()
        if val is not None and _validation_due(epoch, validation_freq):
            epoch_logs.update({"val_" + k: v for k, v in run_evaluation(model, val).items()})
        cbs.call("on_epoch_end", epoch, epoch_logs)
        if model.stop_training or getattr(train, "exhausted", False):
            break
    return epoch_logs


def _work(model, source):
    """Multiply-adds per batch of an array source (None for Sequences/generators): picks the CPU threads."""
    if not hasattr(source, "x"):
        return None
    return work_per_batch(model, source.batch_size, tuple(source.x.shape[1:]))


def run_evaluation(model, source, callbacks=None) -> dict:
    """Loss and metrics over every batch of ``source``, in inference mode."""
    compiled = model.compiled
    logs = EpochLogs(compiled)
    model.eval()
    with torch.inference_mode():
        for index, (xb, yb, wb) in enumerate(source.batches(0)):
            pred = model(xb)
            loss = compiled.loss_value(yb, pred, wb)
            penalty = model.regularization_loss()
            logs.update(loss if penalty is None else loss + penalty, yb.shape[0], yb, pred, wb)
            if callbacks is not None:
                callbacks.call("on_test_batch_end", index, logs)
    source.end_epoch()
    return logs.results()


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None,
             return_dict=False, workers=None, max_queue_size=None):
    model.require_compiled("evaluate")
    verbose, steps = verbosity(verbose), optional_steps(steps, "steps")
    device = model.place(backend.device())
    if is_source(x):
        source = make_source(model, x, device, None, steps=steps, what="the evaluation data", workers=workers,
                             max_queue_size=max_queue_size)
    else:
        if y is None:
            raise ValueError("evaluate needs targets: model.evaluate(x, y). Received y=None.")
        arrays = prepare_arrays(model, x, y, sample_weight)
        batch_size = stateful_batch(model, batch_size, arrays[0].shape[0], "evaluate")
        source = make_source(model, arrays, device, batch_size, steps=steps)
    cbs = _callbacks(model, callbacks, verbose, 1, source.steps)
    cbs.call("on_test_begin", None)
    with threads_for(device, _work(model, source)):
        results = run_evaluation(model, source, cbs if cbs.wants("on_test_batch_end") else None)
    cbs.call("on_test_end", results)
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None, workers=None,
            max_queue_size=None):
    verbose, steps = verbosity(verbose), optional_steps(steps, "steps")
    device = model.place(backend.device())
    if is_source(x):
        source = make_source(model, x, device, None, steps=steps, what="the prediction data", workers=workers,
                             max_queue_size=max_queue_size)
        n = None
    else:
        x = to_tensor(x, "x", integer=model.input_dtype == "int")
        model.check_input_values(x)
        model.prepare_input(tuple(x.shape))
        n = x.shape[0]
        source = make_source(model, (x, None, None), torch.device("cpu"),
                             stateful_batch(model, batch_size, n, "predict"), steps=steps)
    cbs = _callbacks(model, callbacks, verbose, 1, source.steps)
    cbs.call("on_predict_begin", None)
    model.eval()
    output, pieces, filled = None, [], 0
    with torch.inference_mode(), threads_for(device, _work(model, source)):
        for index, (xb, _, _) in enumerate(source.batches(0)):
            pred = model(xb.to(device, non_blocking=True))
            if n is None:
                pieces.append(pred)
            else:  # filled batch by batch: memory is the output plus one batch
                if output is None:
                    output = torch.empty((n,) + tuple(pred.shape[1:]), dtype=pred.dtype, device=device)
                output[filled:filled + pred.shape[0]] = pred
                filled += pred.shape[0]
            cbs.call("on_predict_batch_end", index, None)
    source.end_epoch()
    cbs.call("on_predict_end", None)
    if n is None:
        output = torch.cat(pieces)
    elif filled < n:
        output = output[:filled]  # steps= stopped early
    return output.cpu().numpy()


# ---------------------------------------------------------------------------- single batches
def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    """One gradient step on one batch; returns the loss (and metrics) of that batch."""
    compiled = model.require_compiled("train_on_batch")
    device = model.place(backend.device())
    x, y, w = (None if t is None else t.to(device) for t in prepare_arrays(model, x, y, sample_weight, class_weight))
    model.train()
    logs = EpochLogs(compiled)
    loss, pred = TrainStep(model, compiled)(x, y, w)
    logs.update(loss, y.shape[0], y, pred, w)
    return _batch_result(logs.results(), return_dict)


def test_on_batch(model, x, y, sample_weight=None, return_dict=False):
    model.require_compiled("test_on_batch")
    device = model.place(backend.device())
    arrays = prepare_arrays(model, x, y, sample_weight)
    source = make_source(model, arrays, device, arrays[0].shape[0])
    return _batch_result(run_evaluation(model, source), return_dict)


def predict_on_batch(model, x):
    return predict(model, x, batch_size=len(x) if hasattr(x, "__len__") else None, verbose=0)


def _batch_result(results: dict, return_dict: bool):
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values
