"""From what the user passed to fit/evaluate/predict to a BatchSource: argument checks, conversion and
validation of arrays, validation splits, class weights, and the batch-size rules of stateful models."""

from __future__ import annotations

import math

import torch

from lstmkit.training.data import align_targets, check_same_length, to_tensor
from lstmkit.training.sources import ArraySource, BatchLoader, IterableSource, SequenceSource, is_batch_source

__all__ = [
    "make_source",
    "non_negative_int",
    "positive_batch_size",
    "split_validation",
    "stateful_batch",
    "verbosity",
]


def verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, float):
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")


def positive_batch_size(batch_size, default=32) -> int:
    if batch_size is None:
        return default
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer (samples per gradient step). Received: batch_size={batch_size!r}"
        )
    return batch_size


def non_negative_int(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0. Received: {what}={value!r}")
    return value


def optional_steps(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer or None. Received: {what}={value!r}")
    return value


def stateful_batch(model, batch_size, n: int | None, action: str) -> int:
    """The batch size to use with stateful layers: theirs, and the sample count must divide by it."""
    fixed = model.stateful_batch_size()
    if fixed is None:
        return positive_batch_size(batch_size)
    if batch_size is not None and batch_size != fixed:
        raise ValueError(
            f"This model has stateful layers built for batches of {fixed} samples, so {action} needs "
            f"batch_size={fixed}. Received: batch_size={batch_size}."
        )
    if n is not None and n % fixed:
        raise ValueError(
            f"This model has stateful layers built for batches of {fixed} samples, and {n} samples do not split into "
            f"whole batches ({n} % {fixed} = {n % fixed}). Trim the data to {n - n % fixed} samples, e.g. "
            f"x[:{n - n % fixed}], or rebuild the model with a batch size that divides {n}."
        )
    return fixed


def class_weights(y: torch.Tensor, class_weight: dict) -> torch.Tensor:
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


def prepare_arrays(model, x, y=None, sample_weight=None, class_weight=None, what="x"):
    """Validated tensors (on the CPU or where they came from) that fit the model's input and output."""
    if isinstance(x, dict):
        raise TypeError("lstmkit models take one input array; received a dict of inputs.")
    x = to_tensor(x, what, integer=model.input_dtype == "int")
    model.check_input_values(x)
    y = None if y is None else to_tensor(y, what.replace("x", "y", 1) if what.startswith("x") else "y")
    weights = None if sample_weight is None else to_tensor(sample_weight, "sample_weight")
    check_same_length(x, y, weights)
    x, y, weights = fit_to_model(model, x, y, weights, class_weight, first=True)
    return x, y, weights


def fit_to_model(model, x, y, weights, class_weight, first: bool, output_shape=None):
    """Build/check the model for x (first batch only), align y to the output, and apply class weights."""
    if first:
        model.prepare_input(tuple(x.shape))
    if y is not None:
        output_shape = output_shape or model.compute_output_shape((None,) + tuple(x.shape[1:]))
        y = align_targets(y, output_shape)
        if first:
            model.compiled.check_targets(y, output_shape, model.describe_output_fix())
        if class_weight is not None:
            per_class = class_weights(y, class_weight)
            weights = per_class if weights is None else weights * per_class
    return x, y, weights


def split_validation(x, y, w, validation_split):
    """Keras's rule: the last ``n - floor(n * (1 - split))`` samples, taken before any shuffling."""
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(
            f"validation_split must be in [0, 1). Received: validation_split={validation_split!r}"
        )
    n = x.shape[0]
    cut = math.floor(n * (1.0 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves "
            f"{'no training' if cut == 0 else 'no validation'} samples; use a split that keeps some of each."
        )

    def part(t, rows):
        return None if t is None else t[rows]

    return (x[:cut], part(y, slice(None, cut)), part(w, slice(None, cut))), (
        x[cut:],
        part(y, slice(cut, None)),
        part(w, slice(cut, None)),
    )


def make_source(
    model,
    data,
    device,
    batch_size,
    shuffle=False,
    steps=None,
    class_weight=None,
    what="x",
    workers=None,
    max_queue_size=None,
    shard=None,
):
    """A BatchSource from ``data``: a tuple of prepared tensors (x, y, w), or a Sequence/generator.

    ``shard`` (a ``lstmkit.distributed.sharding.Shard``, under torchrun): the source gives this process
    its share of the data."""
    if isinstance(data, tuple):
        if shard is not None:
            return shard.arrays(*data, device, batch_size, shuffle, steps)
        x, y, w = (None if t is None else t.to(device, non_blocking=True) for t in data)
        return ArraySource(x, y, w, batch_size, shuffle, steps)
    state = {}

    def prepare(x, y, w, first):
        model.check_input_values(x)
        if first:
            state["output"] = None
        x, y, w = fit_to_model(model, x, y, w, class_weight, first, state.get("output"))
        if first and y is not None:
            state["output"] = model.compute_output_shape((None,) + tuple(x.shape[1:]))
        return x, y, w

    loader = BatchLoader(device, model.input_dtype == "int", what, prepare)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        if workers is not None:
            data.workers = workers
        if max_queue_size is not None:
            data.max_queue_size = max_queue_size
        if shard is not None:
            return shard.sequence(data, loader, shuffle, steps)
        return SequenceSource(data, loader, shuffle, steps)
    workers, max_queue_size = (
        0 if workers is None else workers,
        10 if max_queue_size is None else max_queue_size,
    )
    if shard is not None:
        return shard.iterable(data, loader, steps, workers, max_queue_size)
    return IterableSource(data, loader, steps, workers=workers, max_queue_size=max_queue_size)


def is_source(data) -> bool:
    return is_batch_source(data)
