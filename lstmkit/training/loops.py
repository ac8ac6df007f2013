"""The fit / evaluate / predict loops.

Data is validated and moved to the device once per call; batches are cut by index on the device;
the loss and metrics accumulate on the device and are read back once per epoch (or when a progress
line is drawn). The model is known only through its interface: ``model(x)``, ``prepare_input(shape)``,
``compute_output_shape``, ``trainable_parameters()``, ``regularization_loss()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from lstmkit import backend
from lstmkit.callbacks import CallbackList, History, ProgbarLogger
from lstmkit.training.compile_config import masked_weights
from lstmkit.training.data import align_targets, check_same_length, to_tensor

__all__ = ["evaluate", "fit", "predict"]


# ---------------------------------------------------------------------------- argument checks
def _verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, float):
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")


def _batch_size(batch_size, default=32) -> int:
    if batch_size is None:
        return default
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer (samples per gradient step). Received: batch_size={batch_size!r}"
        )
    return batch_size


def _stateful_batch(model, batch_size, n: int, action: str) -> int:
    """The batch size to use with stateful layers: theirs, and the sample count must divide by it."""
    fixed = model.stateful_batch_size()
    if fixed is None:
        return _batch_size(batch_size)
    if batch_size is not None and batch_size != fixed:
        raise ValueError(
            f"This model has stateful layers built for batches of {fixed} samples, so {action} needs "
            f"batch_size={fixed}. Received: batch_size={batch_size}."
        )
    if n % fixed:
        raise ValueError(
            f"This model has stateful layers built for batches of {fixed} samples, and {n} samples do not split into "
            f"whole batches ({n} % {fixed} = {n % fixed}). Trim the data to {n - n % fixed} samples, e.g. "
            f"x[:{n - n % fixed}], or rebuild the model with a batch size that divides {n}."
        )
    return fixed


def _non_negative_int(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0. Received: {what}={value!r}")
    return value


# ---------------------------------------------------------------------------- data preparation
class Batches:
    """Index ranges of one pass over ``n`` samples; shuffled on the device when asked."""

    def __init__(self, n: int, batch_size: int, shuffle=False, device=None):
        self.n, self.batch_size, self.shuffle, self.device = n, batch_size, shuffle, device
        self.steps = math.ceil(n / batch_size)

    def __iter__(self):
        # With one batch per epoch the order inside it cannot change the (mean) loss: skip the shuffle.
        order = None
        if self.shuffle is True and self.steps > 1:
            order = torch.randperm(self.n, device=self.device)
        starts = list(range(0, self.n, self.batch_size))
        if self.shuffle == "batch":
            starts = [starts[i] for i in torch.randperm(len(starts)).tolist()]
        for start in starts:
            stop = min(start + self.batch_size, self.n)
            yield slice(start, stop) if order is None else order[start:stop]


def _prepare(model, x, y=None, sample_weight=None, what="x"):
    """Validated tensors (on the CPU or where they came from) fitting the model's input and output."""
    if isinstance(x, dict):
        raise TypeError("lstmkit models take one input array; received a dict of inputs.")
    x = to_tensor(x, what, integer=model.input_dtype == "int")
    y = None if y is None else to_tensor(y, what.replace("x", "y", 1) if what.startswith("x") else "y")
    weights = None if sample_weight is None else to_tensor(sample_weight, "sample_weight")
    check_same_length(x, y, weights)
    model.prepare_input(tuple(x.shape))
    if y is None:
        return x, None, weights
    output_shape = model.compute_output_shape((None,) + tuple(x.shape[1:]))
    y = align_targets(y, output_shape)
    model.compiled.check_targets(y, output_shape, model.describe_output_fix())
    return x, y, weights


def _class_weights(y: torch.Tensor, class_weight: dict) -> torch.Tensor:
    """Per-sample weights from ``{class: weight}`` (labels as indices, one-hot rows or 0/1 values)."""
    if y.dim() > 1 and y.shape[-1] > 1:
        labels = y.argmax(dim=-1)
    else:
        labels = y.reshape(y.shape[0], -1)[:, 0].round().long()
    table = torch.ones(int(labels.max()) + 1 if labels.numel() else 1, dtype=torch.float32)
    for cls, weight in class_weight.items():
        if int(cls) < table.numel():
            table[int(cls)] = float(weight)
    return table[labels.cpu()]


def _split_validation(x, y, w, validation_split):
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1). Received: validation_split={validation_split!r}")
    n = x.shape[0]
    cut = math.floor(n * (1.0 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves "
            f"{'no training' if cut == 0 else 'no validation'} samples; use a split that keeps some of each."
        )
    part = (lambda t, s: None if t is None else t[s])
    return (x[:cut], y[:cut], part(w, slice(None, cut))), (x[cut:], y[cut:], part(w, slice(cut, None)))


# ---------------------------------------------------------------------------- running averages
class EpochLogs(Mapping):
    """The loss and metrics of the current pass, accumulated on the device.

    It is a read-only mapping: reading a value synchronises with the device, so per-batch callbacks
    get this object and only pay when they look.
    """

    def __init__(self, metrics, prefix=""):
        self.metrics, self.prefix = metrics, prefix
        self.reset()

    def reset(self):
        self.loss_total, self.count = None, 0
        for m in self.metrics:
            m.reset_state()

    def update(self, loss, n, y, pred, weight=None):
        weighted = loss.detach() * n
        self.loss_total = weighted if self.loss_total is None else self.loss_total + weighted
        self.count += n
        mask = getattr(pred, "_keras_mask", None)
        for m in self.metrics:
            metric_weight = weight if getattr(m, "weighted", False) else None
            if mask is not None:  # metrics count unmasked timesteps only
                metric_weight = masked_weights(mask, metric_weight, reduction="sum")
            m.update_state(y, pred, metric_weight)

    def _value(self, name):
        if name == "loss":
            return float(self.loss_total) / max(self.count, 1) if self.loss_total is not None else float("nan")
        return next(m for m in self.metrics if m.name == name).result()

    def _names(self):
        return ["loss"] + [m.name for m in self.metrics]

    def __getitem__(self, key):
        if not key.startswith(self.prefix) or key[len(self.prefix):] not in self._names():
            raise KeyError(key)
        return self._value(key[len(self.prefix):])

    def __iter__(self):
        return iter(self.prefix + name for name in self._names())

    def __len__(self):
        return len(self.metrics) + 1

    def results(self) -> dict:
        return {key: self[key] for key in self}


# ---------------------------------------------------------------------------- fit
def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        validation_batch_size=None, validation_freq=1):
    compiled = model.require_compiled("fit")
    verbose, requested_batch = _verbose(verbose), batch_size
    if batch_size is not None:
        _batch_size(batch_size)
    epochs, initial_epoch = _non_negative_int(epochs, "epochs"), _non_negative_int(initial_epoch, "initial_epoch")
    if shuffle not in (True, False, "batch"):
        raise ValueError(f"shuffle must be True, False or 'batch'. Received: shuffle={shuffle!r}")
    if y is None:
        raise ValueError("fit needs targets: model.fit(x, y, ...). Received y=None.")
    x, y, weights = _prepare(model, x, y, sample_weight)
    if class_weight is not None:
        per_class = _class_weights(y, class_weight)
        weights = per_class if weights is None else weights * per_class
    train, val = (x, y, weights), None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val).")
        val = _prepare(model, *validation_data[:2], *validation_data[2:], what="x_val (validation_data)")
    elif validation_split:
        train, val = _split_validation(x, y, weights, validation_split)
    batch_size = _stateful_batch(model, requested_batch, train[0].shape[0], "fit")
    if val is not None and model.stateful_batch_size() is not None:
        _stateful_batch(model, validation_batch_size or batch_size, val[0].shape[0], "validation")

    device = model.place(backend.device())
    x, y, weights = (None if t is None else t.to(device, non_blocking=True) for t in train)
    logs = EpochLogs(compiled.resolve_metrics(tuple(y.shape), model.compute_output_shape((None,) + tuple(x.shape[1:]))))
    batches = Batches(x.shape[0], batch_size, shuffle, device)
    history = History()
    extra = [ProgbarLogger()] if verbose else []
    cbs = CallbackList(list(callbacks or []) + extra + [history], model,
                       {"verbose": verbose, "epochs": epochs, "steps": batches.steps})
    per_batch = cbs.wants("on_train_batch_end")
    step = _TrainStep(model, compiled)

    model.stop_training = False
    cbs.call("on_train_begin", None)
    epoch_logs = {}
    model.train()
    for epoch in range(initial_epoch, epochs):
        if not model.training:  # a callback may have evaluated or predicted
            model.train()
        logs.reset()
        cbs.call("on_epoch_begin", epoch, None)
        for index, rows in enumerate(batches):
            if cbs.wants("on_train_batch_begin"):
                cbs.call("on_train_batch_begin", index, None)
            xb, yb = x[rows], y[rows]
            wb = None if weights is None else weights[rows]
            loss, pred = step(xb, yb, wb)
            logs.update(loss, yb.shape[0], yb, pred, wb)
            if per_batch:
                cbs.call("on_train_batch_end", index, logs)
            if model.stop_training:
                break
        epoch_logs = logs.results()
        if val is not None and _validation_due(epoch, validation_freq):
            val_logs = _evaluate_tensors(model, *val, _batch_size(validation_batch_size, batch_size), device)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.call("on_epoch_end", epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.call("on_train_end", epoch_logs)
    model.history = history
    return history


def _validation_due(epoch: int, validation_freq) -> bool:
    if isinstance(validation_freq, int):
        if validation_freq < 1:
            raise ValueError(f"validation_freq must be >= 1. Received: {validation_freq}")
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in set(validation_freq)


class _TrainStep:
    """forward, loss, backward, optimizer update: one batch."""

    def __init__(self, model, compiled):
        self.model, self.compiled, self.optimizer = model, compiled, compiled.optimizer
        self.params = model.trainable_parameters()
        if not self.params:
            raise ValueError("The model has no trainable weights (every layer is frozen); nothing to fit.")

    def __call__(self, x, y, weight):
        for p in self.params:
            p.grad = None
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


# ---------------------------------------------------------------------------- evaluate and predict
def _evaluate_tensors(model, x, y, weights, batch_size, device, callbacks=None):
    compiled = model.compiled
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    weights = None if weights is None else weights.to(device)
    logs = EpochLogs(compiled.resolve_metrics(tuple(y.shape), model.compute_output_shape((None,) + tuple(x.shape[1:]))))
    model.eval()
    with torch.inference_mode():
        for index, rows in enumerate(Batches(x.shape[0], batch_size)):
            yb = y[rows]
            wb = None if weights is None else weights[rows]
            pred = model(x[rows])
            loss = compiled.loss_value(yb, pred, wb)
            penalty = model.regularization_loss()
            logs.update(loss if penalty is None else loss + penalty, yb.shape[0], yb, pred, wb)
            if callbacks is not None:
                callbacks.call("on_test_batch_end", index, logs)
    return logs.results()


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, callbacks=None,
             return_dict=False):
    model.require_compiled("evaluate")
    verbose = _verbose(verbose)
    if y is None:
        raise ValueError("evaluate needs targets: model.evaluate(x, y). Received y=None.")
    x, y, weights = _prepare(model, x, y, sample_weight)
    batch_size = _stateful_batch(model, batch_size, x.shape[0], "evaluate")
    device = model.place(backend.device())
    steps = math.ceil(x.shape[0] / batch_size)
    cbs = CallbackList(list(callbacks or []) + ([ProgbarLogger()] if verbose else []), model,
                       {"verbose": verbose, "epochs": 1, "steps": steps})
    cbs.call("on_test_begin", None)
    results = _evaluate_tensors(model, x, y, weights, batch_size, device,
                                cbs if cbs.wants("on_test_batch_end") else None)
    cbs.call("on_test_end", results)
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", callbacks=None):
    verbose = _verbose(verbose)
    x = to_tensor(x, "x", integer=model.input_dtype == "int")
    model.prepare_input(tuple(x.shape))
    batch_size = _stateful_batch(model, batch_size, x.shape[0], "predict")
    device = model.place(backend.device())
    n = x.shape[0]
    batches = Batches(n, batch_size)
    cbs = CallbackList(list(callbacks or []) + ([ProgbarLogger()] if verbose else []), model,
                       {"verbose": verbose, "epochs": 1, "steps": batches.steps})
    cbs.call("on_predict_begin", None)
    model.eval()
    output = None
    with torch.inference_mode():
        for index, rows in enumerate(batches):
            pred = model(x[rows].to(device, non_blocking=True))
            if output is None:  # filled batch by batch: memory is the output plus one batch
                output = torch.empty((n,) + tuple(pred.shape[1:]), dtype=pred.dtype, device=device)
            output[rows] = pred
            cbs.call("on_predict_batch_end", index, None)
    cbs.call("on_predict_end", None)
    return output.cpu().numpy()
