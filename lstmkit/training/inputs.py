"""From what the user passed to fit/evaluate/predict to a BatchSource: argument checks, conversion and
validation of arrays, validation splits, class weights, and the batch-size rules of stateful models."""

from __future__ import annotations

import math

import numpy as np
import torch

from lstmkit.training.data import align_targets, check_same_length, to_tensor
from lstmkit.training.sources import ArraySource, BatchLoader, IterableSource, SequenceSource, is_batch_source
from lstmkit.training.structures import (
    batch_shapes,
    batch_size_of,
    input_kinds,
    output_names,
    shapes,
    split_inputs,
    split_targets,
    take,
    to_device,
)
from lstmkit.utils.checks import check_int, warn_extreme_values

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
    if verbose in (0, 1, 2) and not isinstance(verbose, (float, np.floating, bool, np.bool_)):
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")


def positive_batch_size(batch_size, default=32) -> int:
    if batch_size is None:
        return default
    return check_int(batch_size, "batch_size", 1, meaning="samples per gradient step")


def non_negative_int(value, what) -> int:
    return check_int(value, what, 0)


def optional_steps(value, what):
    return check_int(value, what, 1, allow_none=True)


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


def _label(what: str, index: int, count: int, names=None) -> str:
    if count == 1:
        return what
    head, _, rest = what.partition(" ")
    key = f"[{names[index]!r}]" if names else f"[{index}]"
    return f"{head}{key}" + (f" {rest}" if rest else "")


def convert_inputs(model, x, what="x", keep_float_dtype=False) -> torch.Tensor | list:
    """x as validated tensors: one for a one-input model, a list in input order otherwise
    (``keep_float_dtype``: float64 stays float64, for predict's batch-by-batch conversion)."""
    raw = split_inputs(model, x, what)
    names = getattr(model, "input_names", None) if len(raw) > 1 else None
    kinds = input_kinds(model, len(raw))
    tensors = [
        to_tensor(
            value, _label(what, i, len(raw), names), integer=kind == "int", keep_float_dtype=keep_float_dtype
        )
        for i, (value, kind) in enumerate(zip(raw, kinds))
    ]
    return tensors[0] if len(tensors) == 1 else tensors


def _per_output_tensors(raw: list, names, what: str) -> list:
    """One tensor per output's raw values (None stays None), each named in errors by its output."""
    return [None if v is None else to_tensor(v, _label(what, i, len(raw), names)) for i, v in enumerate(raw)]


def convert_targets(y, names, what="y") -> torch.Tensor | list:
    tensors = _per_output_tensors(split_targets(y, names, what), names, what)
    return tensors[0] if len(tensors) == 1 else tensors


def convert_weights(sample_weight, names, what="sample_weight"):
    """One weight array for every output, or (several outputs) a list/dict of them per output."""
    if sample_weight is None:
        return None
    if len(names) > 1 and isinstance(sample_weight, (list, tuple, dict)) and not _numbers(sample_weight):
        return _per_output_tensors(split_targets(sample_weight, names, what), names, what)
    return to_tensor(sample_weight, what)


def _numbers(value) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value)


def prepare_arrays(model, x, y=None, sample_weight=None, class_weight=None, what="x"):
    """Validated tensors (on the CPU or where they came from) that fit the model's inputs and outputs:
    (x, y, w) with x and y a tensor each (one input/output) or lists (several)."""
    x = convert_inputs(model, x, what)
    model.check_input_values(x)
    y_what = what.replace("x", "y", 1) if what.startswith("x") else "y"
    prepared = fit_to_model(model, x, y, sample_weight, class_weight, first=True, raw=True, y_what=y_what)
    for values, name in ((prepared[0], what), (prepared[1], y_what)):
        for i, tensor in enumerate(values if isinstance(values, list) else [values]):
            if tensor is not None:
                warn_extreme_values(tensor, name if not isinstance(values, list) else f"{name}[{i}]")
    return prepared


def fit_to_model(
    model, x, y, weights, class_weight, first: bool, output_shape=None, raw=False, y_what="y", where=""
):
    """Build/check the model for x (first batch only), turn y into one tensor per output (``raw``: y and the
    weights are still the user's data), align each to its output, and apply class weights.
    Returns (x, y, weights)."""
    if first:
        model.prepare_input(batch_shapes(x))
    if y is None:
        if raw and weights is not None:
            weights = to_tensor(weights, "sample_weight")
        return x, None, weights
    output_shape = output_shape or model.compute_output_shape(shapes(x))
    several = isinstance(output_shape, list)
    out_shapes = output_shape if several else [output_shape]
    names = output_names(model, len(out_shapes))
    compiled = model.compiled
    if compiled is not None:
        compiled.bind(names)
    if raw or isinstance(y, (dict, tuple)) or (several and not isinstance(y, list)):
        y = convert_targets(y, names, y_what)
        weights = convert_weights(weights, names) if raw else weights
    ys = y if several else [y]
    check_same_length(x, ys, weights)
    aligned = [None if t is None else align_targets(t, s) for t, s in zip(ys, out_shapes)]
    if first and compiled is not None:
        for i, (spec, t, s) in enumerate(zip(compiled.outputs, aligned, out_shapes)):
            if t is None and spec.loss is not None:
                raise ValueError(f"No targets were given for the output '{spec.name}', which has a loss.")
            if t is not None:
                spec.check_targets(
                    t, s, model.describe_output_fix(), f"['{spec.name}']" if several else where
                )
    if class_weight is not None:
        if several:
            raise ValueError(
                "class_weight is for models with one output. For several outputs pass sample_weight as a dict "
                "by output name (one weight per sample for each output)."
            )
        per_class = class_weights(aligned[0], class_weight)
        weights = per_class if weights is None else weights * per_class
    return x, (aligned if several else aligned[0]), weights


def split_validation(x, y, w, validation_split):
    """Keras's rule: the last ``n - floor(n * (1 - split))`` samples, taken before any shuffling."""
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(
            f"validation_split must be in [0, 1). Received: validation_split={validation_split!r}"
        )
    n = batch_size_of(x)
    cut = math.floor(n * (1.0 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves "
            f"{'no training' if cut == 0 else 'no validation'} samples; use a split that keeps some of each."
        )
    head, tail = slice(None, cut), slice(cut, None)
    return (take(x, head), take(y, head), take(w, head)), (take(x, tail), take(y, tail), take(w, tail))


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
        x, y, w = (to_device(t, device) for t in data)
        return ArraySource(x, y, w, batch_size, shuffle, steps)
    state = {}

    def prepare(x, y, w, first, where):
        """A raw batch -> tensors fitted to the model (the first batch also builds it and checks y)."""
        x = convert_inputs(model, x, f"x ({where})")
        model.check_input_values(x)
        if first:
            state["output"] = None
        x, y, w = fit_to_model(
            model, x, y, w, class_weight, first, state.get("output"), raw=True, y_what=f"y ({where})"
        )
        if first and y is not None:
            state["output"] = model.compute_output_shape(shapes(x))
        return x, y, w

    loader = BatchLoader(device, what, prepare)
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
