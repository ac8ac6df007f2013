"""train_on_batch / test_on_batch / predict_on_batch: one batch, in the calling process only.

The same step and evaluation as fit/evaluate/predict (training/loops.py), on the whole of what was passed
as one batch: no callbacks, no progress, no torchrun synchronisation.
"""

from __future__ import annotations

from lstmkit import backend
from lstmkit.training.inputs import make_source, prepare_arrays
from lstmkit.training.logs import EpochLogs, returned_values
from lstmkit.training.loops import predict, run_evaluation
from lstmkit.training.step import TrainStep
from lstmkit.training.structures import batch_size_of, split_inputs, to_device
from lstmkit.training.threads import cpu_run, work_per_op

__all__ = ["predict_on_batch", "test_on_batch", "train_on_batch"]


def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    """One gradient step on one batch; returns the loss (and metrics) of that batch."""
    compiled = model.require_compiled("train_on_batch")
    device = model.place(backend.device())
    x, y, w = (to_device(t, device) for t in prepare_arrays(model, x, y, sample_weight, class_weight))
    logs = EpochLogs(compiled)
    n = batch_size_of(y)
    with cpu_run(device, work_per_op(model, n)):
        loss, parts, pred = TrainStep(model, compiled)(x, y, w)
    logs.update(loss, n, y, pred, w, parts)
    return returned_values(logs.results(), return_dict, compiled)


def test_on_batch(model, x, y, sample_weight=None, return_dict=False):
    """The loss (and metrics) of one batch, in inference mode."""
    model.require_compiled("test_on_batch")
    device = model.place(backend.device())
    arrays = prepare_arrays(model, x, y, sample_weight)
    n = batch_size_of(arrays[0])
    source = make_source(model, arrays, device, n)
    with cpu_run(device, work_per_op(model, n)):
        return returned_values(run_evaluation(model, source), return_dict, model.compiled)


def predict_on_batch(model, x):
    """The outputs for ``x`` as one batch (NumPy arrays, in the model's output structure)."""
    return predict(model, x, batch_size=_length(model, x), verbose=0, distributed=False)


def _length(model, x):
    """The number of samples of ``x`` (of its first input), or None when it has no length."""
    try:
        data = split_inputs(model, x)[0]
    except (TypeError, ValueError):
        return None
    return len(data) if hasattr(data, "__len__") else None
