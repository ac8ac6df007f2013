"""``to_onnx``: write a model as an ONNX file whose batch and time axes stay free, verified by onnxruntime.

How it goes:

1. The model's inputs are described from its declared or built shapes (or ``input_shape=``).
2. A probe runs the model (its recurrent layers set up for export, see recurrent.py) at two sequence
   lengths: it tells whether the time axis can stay dynamic and which output axes follow it.
3. PyTorch's TorchScript-based exporter traces it once. (The torch.export-based exporter, PyTorch's
   default since 2.9, silently freezes the time axis of some recurrent models in 2.13; the TorchScript
   one writes torch's fused kernels as ONNX's LSTM/GRU/RNN operators with a free time axis.)
4. onnxruntime runs the result at two batch sizes and two sequence lengths; every output must match
   lstmkit's within ``atol + rtol * |expected|``, or the export fails and nothing is written.
5. The file is written atomically.

Where the time axis cannot stay dynamic (a step loop traced once), the file declares the fixed length,
so that a runtime refuses other lengths instead of computing wrong values, and a warning says why.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from lstmkit import backend
from lstmkit.export.recurrent import RecurrentExport, without_carried_states
from lstmkit.export.verify import OnnxExportError, require_onnx_packages, verify_onnx
from lstmkit.layers.rnn.base import RNN
from lstmkit.utils.checks import check_int
from lstmkit.utils.shapes import format_shape

__all__ = ["OnnxExport", "OnnxExportError", "to_onnx"]

_DEFAULT_TIMESTEPS = 6  # the first length probed when the model does not fix one
_EXTRA_TIMESTEPS = 3  # the second length probed and verified: the first plus this
_BATCH_SIZES = (1, 3)  # verified
_MIN_OPSET = 14  # Squeeze/Unsqueeze take their axes as inputs from 13 on; 14 is the oldest tested


@dataclass
class OnnxExport:
    """What ``to_onnx`` wrote: names, dynamic axes, and what the verification measured."""

    path: str
    input_names: list[str]
    output_names: list[str]
    state_input_names: list[str] = field(default_factory=list)
    state_output_names: list[str] = field(default_factory=list)
    dynamic_axes: dict = field(default_factory=dict)
    fixed_timesteps: int | None = None  # set when the time axis had to be fixed
    fixed_reasons: list[str] = field(default_factory=list)
    verified_shapes: list[tuple] = field(default_factory=list)  # (batch, timesteps) pairs checked
    max_abs_error: float | None = None


@dataclass
class _InputSpec:
    name: str
    shape: tuple  # per sample (no batch axis); shape[0] is the time axis when has_time
    integer: bool
    has_time: bool
    vocabulary: int = 2  # token ids are drawn below this


class _ExportModule(torch.nn.Module):
    """``forward(*inputs, *states) -> (*outputs, *final_states)``: the flat signature ONNX needs."""

    def __init__(self, model, recurrent: RecurrentExport | None, n_inputs: int):
        super().__init__()
        self.model, self.recurrent, self.n_inputs = model, recurrent, n_inputs

    def forward(self, *arguments):
        inputs, states = arguments[: self.n_inputs], arguments[self.n_inputs :]
        streaming = self.recurrent is not None and self.recurrent.streaming
        if streaming:
            self.recurrent.feed(states)
        outputs = self.model(inputs[0] if self.n_inputs == 1 else list(inputs))
        outputs = _flatten_outputs(self.model, outputs)
        if streaming:
            outputs += self.recurrent.collect()
        return tuple(outputs)


def _flatten_outputs(model, outputs) -> list[torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        order = [name for name in getattr(model, "output_names", None) or [] if name in outputs]
        return [outputs[key] for key in (order or list(outputs))]
    return list(outputs)


# ---------------------------------------------------------------------- the model's inputs
def _input_specs(model, input_shape) -> list[_InputSpec]:
    """One spec per model input, from ``input_shape`` (per sample, or a list of them) or the model."""
    symbolic = getattr(model, "inputs", None)
    if input_shape is not None:
        several = len(input_shape) > 0 and isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    elif symbolic:
        shapes = [tuple(t.shape[1:]) for t in symbolic]
    else:
        shapes = [_known_shape(model)]
    names = list(getattr(model, "input_names", None) or [])
    if len(names) != len(shapes):
        names = ["input"] if len(shapes) == 1 else [f"input_{i}" for i in range(len(shapes))]
    if symbolic and len(symbolic) == len(shapes):
        integer = [str(getattr(t, "dtype", "float")).startswith(("int", "uint")) for t in symbolic]
    else:
        integer = [getattr(model, "input_dtype", "float") == "int"] * len(shapes)
    vocabulary = _vocabulary(model)
    specs = []
    for name, shape, is_int in zip(names, shapes, integer):
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Cannot export: input '{name}' has shape {format_shape((None,) + shape)}, with an unknown "
                "size besides the batch and time axes. Pass input_shape=(timesteps, features)."
            )
        # Axis 1 of a sequence (batch, timesteps, features, ...) or of token ids (batch, timesteps).
        has_time = len(shape) >= 2 or (is_int and len(shape) == 1)
        specs.append(_InputSpec(name, shape, is_int, has_time, vocabulary))
    return specs


def _known_shape(model) -> tuple:
    for attribute in ("declared_input_shape", "built_input_shape"):
        shape = getattr(model, attribute, None)
        if shape is not None:
            return tuple(shape[1:])
    raise ValueError(
        f"Cannot export model '{model.name}': its input shape is unknown (it has not seen any data). Pass "
        "input_shape=(timesteps, features), give its first layer input_shape=..., or call "
        "model.build((None, timesteps, features)) first."
    )


def _vocabulary(model) -> int:
    """The smallest ``input_dim`` of the model's Embedding layers (2 when it has none)."""
    from lstmkit.layers.embedding import Embedding

    sizes = [m.input_dim for m in model.modules() if isinstance(m, Embedding)]
    return min(sizes) if sizes else 2


def _example(specs, batch: int, timesteps: int, seed: int) -> list[torch.Tensor]:
    """Random inputs of the given batch size and length."""
    generator = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        shape = (batch,) + ((timesteps,) + spec.shape[1:] if spec.has_time else spec.shape)
        if spec.integer:
            values = generator.integers(0, spec.vocabulary, size=shape)
            arrays.append(torch.as_tensor(values, dtype=torch.int64))
        else:
            arrays.append(torch.as_tensor(generator.standard_normal(shape), dtype=backend.float_dtype()))
    return arrays


def _zero_states(recurrent, batch: int) -> list[torch.Tensor]:
    if not recurrent.streaming:
        return []
    dtype = backend.float_dtype()
    return [torch.zeros(batch, size, dtype=dtype) for _, _, size in recurrent.state_layout()]


# ---------------------------------------------------------------------- planning: names, lengths, axes
@dataclass
class _Plan:
    specs: list[_InputSpec]
    output_names: list[str]
    state_inputs: list[str]
    state_outputs: list[str]
    timesteps: int  # the traced length
    lengths: list[int]  # the lengths verified
    time_free: bool
    reasons: list[str]
    dynamic_axes: dict


def _plan(model, module, specs, dynamic_time: bool) -> _Plan:
    recurrent = module.recurrent
    declared = [spec.shape[0] for spec in specs if spec.has_time and spec.shape[0] is not None]
    first_length = declared[0] if declared else _DEFAULT_TIMESTEPS
    timed = any(spec.has_time for spec in specs)
    with torch.no_grad():
        first = module(*_example(specs, 2, first_length, 0), *_zero_states(recurrent, 2))
        reasons = list(recurrent.fixed_time)
        second = None
        if not dynamic_time:
            reasons.append("dynamic_time=False")
        elif timed and not reasons:
            try:
                second_length = first_length + _EXTRA_TIMESTEPS
                second = module(*_example(specs, 2, second_length, 1), *_zero_states(recurrent, 2))
            except (ValueError, TypeError, IndexError, RuntimeError) as error:  # a layer tied to one length
                first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
                reasons.append(f"the model computes only at {first_length} timesteps ({first_line})")
    time_free = timed and not reasons
    if timed and not time_free and not declared:
        raise OnnxExportError(
            f"Cannot export with a fixed time axis without knowing its length: {'; '.join(reasons)}. Pass "
            "input_shape=(timesteps, features) to fix it."
        )
    n_outputs = len(first) - len(recurrent.state_layout() if recurrent.streaming else [])
    output_names = _output_names(model, n_outputs)
    state_inputs, state_outputs = [], []
    if recurrent.streaming:
        for layer, state, _ in recurrent.state_layout():
            state_inputs.append(f"{layer.name}_{state}_in")
            state_outputs.append(f"{layer.name}_{state}_out")
    lengths = [first_length, first_length + _EXTRA_TIMESTEPS] if time_free else [first_length]
    # A length-1 trace would take the layers' single-step shortcuts, fixed to one step: trace at >= 2.
    timesteps = first_length if first_length >= 2 or not time_free else lengths[1]
    axes = {spec.name: {0: "batch"} for spec in specs}
    timed_specs = [spec for spec in specs if spec.has_time]
    time_label = "timesteps" if len(timed_specs) == 1 else None
    if time_free:
        for spec in timed_specs:
            axes[spec.name][1] = time_label or f"{spec.name}_timesteps"
    for name, a, b in zip(output_names, first, second if second is not None else first):
        axes[name] = {0: "batch"}
        for axis in range(1, a.dim()):
            if a.shape[axis] != b.shape[axis]:
                follows = time_label and a.shape[axis] == first_length and b.shape[axis] == lengths[-1]
                axes[name][axis] = time_label if follows else f"{name}_axis{axis}"
    for name in state_inputs + state_outputs:
        axes[name] = {0: "batch"}
    return _Plan(
        specs, output_names, state_inputs, state_outputs, timesteps, lengths, time_free, reasons, axes
    )


def _output_names(model, count: int) -> list[str]:
    names = list(getattr(model, "output_names", None) or [])
    if len(names) == count and len(set(names)) == count:
        return names
    return ["output"] if count == 1 else [f"output_{i}" for i in range(count)]


# ---------------------------------------------------------------------- tracing
def _trace(module, plan: _Plan, opset_version: int) -> tuple[bytes, list[str]]:
    """The ONNX bytes, and the tracer's warnings (shown if the verification fails)."""
    example = _example(plan.specs, 2, plan.timesteps, 2) + _zero_states(module.recurrent, 2)
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        torch.onnx.export(
            module,
            tuple(example),
            buffer,
            dynamo=False,  # see the module docstring
            input_names=[spec.name for spec in plan.specs] + plan.state_inputs,
            output_names=plan.output_names + plan.state_outputs,
            dynamic_axes=plan.dynamic_axes,
            opset_version=opset_version,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
        )
    tracer = [str(w.message) for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    return _positive_transpose_axes(buffer.getvalue()), tracer


def _positive_transpose_axes(onnx_bytes: bytes) -> bytes:
    """The TorchScript exporter writes ``movedim(-1, 1)`` as a Transpose with negative axes, which ONNX
    does not allow (onnxruntime refuses the file); a permutation of n axes counts them modulo n."""
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    changed = False
    for node in model.graph.node:
        if node.op_type != "Transpose":
            continue
        for attribute in node.attribute:
            if attribute.name == "perm" and any(p < 0 for p in attribute.ints):
                rank = len(attribute.ints)
                fixed = [p % rank for p in attribute.ints]
                del attribute.ints[:]
                attribute.ints.extend(fixed)
                changed = True
    return model.SerializeToString() if changed else onnx_bytes


# ---------------------------------------------------------------------- verification cases
def _cases(model, plan: _Plan, streaming: bool):
    """(feeds, expected outputs, (batch, timesteps)) per verified shape; expected values come from lstmkit."""
    dtype = backend.float_dtype()
    names = [spec.name for spec in plan.specs] + plan.state_inputs
    seed = 10
    for batch in _BATCH_SIZES:
        for length in plan.lengths:
            seed += 1
            inputs = _example(plan.specs, batch, length, seed)
            with torch.no_grad():
                if streaming:  # non-zero initial states, so that the state inputs are checked too
                    recurrent = RecurrentExport(model, streaming=True)
                    generator = torch.Generator().manual_seed(seed)
                    states = [
                        torch.randn(batch, size, generator=generator, dtype=dtype) * 0.5
                        for _, _, size in recurrent.state_layout()
                    ]
                    with recurrent:
                        expected = _ExportModule(model, recurrent, len(inputs))(*inputs, *states)
                else:
                    states = []
                    with without_carried_states([m for m in model.modules() if isinstance(m, RNN)]):
                        outputs = model(inputs[0] if len(inputs) == 1 else inputs)
                    expected = _flatten_outputs(model, outputs)
            feeds = {name: t.numpy() for name, t in zip(names, inputs + states)}
            yield feeds, [np.asarray(e.detach().cpu()) for e in expected], (batch, length)


# ---------------------------------------------------------------------- the entry point
def to_onnx(
    model,
    filepath,
    *,
    states=False,
    input_shape=None,
    dynamic_time=True,
    opset_version=17,
    verify=True,
    atol=1e-5,
    rtol=1e-5,
    overwrite=True,
    verbose=True,
) -> OnnxExport:
    """Write ``model`` to ``filepath`` as ONNX for inference; returns an ``OnnxExport`` describing it.

    Inputs are named after the model's inputs (``input`` for a Sequential model), each
    ``(batch, timesteps, features)`` with the batch and time axes dynamic; outputs ``output`` (or the
    model's output names). ``states=True`` adds every recurrent layer's states as inputs ``<layer>_h_in``
    (and ``<layer>_c_in`` for an LSTM's cell state), each ``(batch, units)``, and their final values as
    outputs ``<layer>_h_out``/``<layer>_c_out``: feed a long sequence chunk by chunk, zeros for the first
    chunk and each chunk's final states to the next, and the outputs equal one call on the whole sequence.
    ``input_shape``: the per-sample shape (a list of them for several inputs) if the model does not know it.
    ``dynamic_time=False`` fixes the time axis at the model's declared length.
    ``verify``: run the file with onnxruntime at two batch sizes and two lengths and raise
    ``OnnxExportError``, writing nothing, unless every output is within ``atol + rtol * |expected|``.
    """
    if not isinstance(states, bool):
        raise TypeError(f"states must be True or False. Received: states={states!r}")
    opset_version = check_int(opset_version, "opset_version", _MIN_OPSET)
    require_onnx_packages()
    path = os.fspath(filepath)
    specs = _input_specs(model, input_shape)
    was_training = model.training
    model.eval()
    try:
        with RecurrentExport(model, streaming=states) as recurrent:
            # In inference mode: the exporter puts the module back into the mode it found it in, for
            # every submodule, so a module left in torch's default training mode would turn dropout on.
            module = _ExportModule(model, recurrent, len(specs)).train(False)
            plan = _plan(model, module, specs, dynamic_time)
            onnx_bytes, tracer_warnings = _trace(module, plan, opset_version)
        result = OnnxExport(
            path,
            [spec.name for spec in specs],
            plan.output_names,
            plan.state_inputs,
            plan.state_outputs,
            plan.dynamic_axes,
            None if plan.time_free else plan.timesteps,
            plan.reasons,
        )
        if verify:
            advice = _advice(plan, tracer_warnings)
            checked = verify_onnx(onnx_bytes, _cases(model, plan, states), atol, rtol, advice)
            result.verified_shapes, result.max_abs_error = checked
    finally:
        model.train(was_training)
    _write(path, onnx_bytes, overwrite)
    _report(result, plan, verbose)
    return result


def _advice(plan: _Plan, tracer_warnings) -> str:
    """What follows a failed verification: nothing was written, what the tracer said, what to try."""
    advice = " Nothing was written."
    if tracer_warnings:
        advice += " The tracer warned: " + " | ".join(list(dict.fromkeys(tracer_warnings))[:3])
    if plan.time_free:
        advice += (
            " If a layer of the model loops over the timesteps in Python, the trace holds one length only: "
            "pass dynamic_time=False to fix the time axis at the model's input length."
        )
    return advice


def _write(path: str, data: bytes, overwrite: bool) -> None:
    from lstmkit.saving.writing import atomic_write

    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(data)


def _report(result: OnnxExport, plan: _Plan, verbose: bool) -> None:
    if (
        any(spec.has_time for spec in plan.specs)
        and not plan.time_free
        and plan.reasons != ["dynamic_time=False"]
    ):
        warnings.warn(
            f"The ONNX model at '{result.path}' takes exactly {plan.timesteps} timesteps (its time axis is fixed "
            f"in the file, so a runtime refuses other lengths): {'; '.join(plan.reasons)}. A recurrent layer "
            "with PyTorch's fused kernel or one of ONNX's recurrent operators and no mask keeps it dynamic.",
            UserWarning,
            stacklevel=3,
        )
    if not verbose:
        return
    inputs = ", ".join(result.input_names + result.state_input_names)
    outputs = ", ".join(result.output_names + result.state_output_names)
    time = (
        "batch and time axes dynamic" if plan.time_free else f"batch axis dynamic, {plan.timesteps} timesteps"
    )
    line = f"Saved ONNX model to '{result.path}' (inputs: {inputs}; outputs: {outputs}; {time})."
    if result.max_abs_error is not None:
        shapes = ", ".join(f"{b}x{t}" for b, t in result.verified_shapes)
        line += f" onnxruntime matches lstmkit at batch x timesteps {shapes}: max |diff| {result.max_abs_error:.1e}."
    print(line)
