"""Recurrent layers during an ONNX export: which ONNX operator each one becomes, and its state inputs.

While a ``RecurrentExport`` is active, every recurrent layer of the model (an ``RNN`` instance: LSTM,
GRU, SimpleRNN, ``RNN(cell)``, the two directions of a Bidirectional) runs through it instead of its
own ``call``:

- A layer on PyTorch's fused path runs its own code; the tracer records ``torch.lstm``/``torch.gru``/
  ``torch.rnn_*``, which the exporter writes as ONNX's LSTM/GRU/RNN operators with a dynamic time axis.
- A built-in cell on the step loop (e.g. ``activation='relu'``, ``GRU(reset_after=False)``) would be
  traced step by step, baking the length in. Its maths is still one of ONNX's recurrent operators
  (their ``activations`` attribute takes Relu, HardSigmoid, Elu, ...), so it is written as that
  operator (``_RecurrentOp.symbolic``) while the values traced are those of the layer's own loop.
- Anything else (a user-written cell, a mask, an activation ONNX's operators lack) can only be traced
  as a loop over a fixed number of timesteps: the layer records why in ``fixed_time``, and the exporter
  fixes the time axis and says so.

With ``streaming=True`` each layer takes its initial states from the export's extra inputs and reports
its final states, so that a runtime can feed a sequence chunk by chunk.
"""

from __future__ import annotations

import contextlib

import torch

from lstmkit import activations
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.bidirectional import Bidirectional
from lstmkit.layers.rnn.gru import GRUCell
from lstmkit.layers.rnn.lstm import LSTMCell
from lstmkit.layers.rnn.simple_rnn import SimpleRNNCell

__all__ = ["RecurrentExport", "onnx_activation", "state_names", "without_carried_states"]

# A Keras activation -> (ONNX recurrent-operator activation name, alpha, beta); alpha/beta None = unused.
_ONNX_ACTIVATIONS = {
    activations.tanh: ("Tanh", None, None),
    activations.sigmoid: ("Sigmoid", None, None),
    activations.relu: ("Relu", None, None),
    activations.linear: ("Affine", 1.0, 0.0),
    activations.hard_sigmoid: ("HardSigmoid", 1.0 / 6.0, 0.5),  # Keras 3: relu6(x + 3) / 6
    activations.elu: ("Elu", 1.0, None),
    activations.softsign: ("Softsign", None, None),
    activations.softplus: ("Softplus", None, None),
}
# ONNX's gate order: LSTM i, o, f, c (Keras i, f, c, o); GRU z, r, h (as Keras); RNN one block.
_KERAS_BLOCKS_IN_ONNX_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (0, 1, 2), "RNN": (0,)}


def onnx_activation(fn):
    """(name, alpha, beta) of ``fn`` for ONNX's recurrent operators, or None when they have no such function."""
    return _ONNX_ACTIVATIONS.get(fn)


def state_names(layer: RNN) -> list[str]:
    """The names of a layer's states: ``h`` and ``c`` for an LSTM, ``h`` for one state, else ``state0``..."""
    sizes = layer.cell.state_size
    count = len(sizes) if isinstance(sizes, (list, tuple)) else 1
    if isinstance(layer.cell, LSTMCell):
        return ["h", "c"]
    return ["h"] if count == 1 else [f"state{i}" for i in range(count)]


@contextlib.contextmanager
def without_carried_states(layers):
    """Stateful layers run as stateless ones (zero initial states, nothing carried) and get their own
    carried states back afterwards: an export computes one call, not a continuation of the last one."""
    saved = [(layer, layer.stateful, layer._carried, layer._fixed_batch) for layer in layers]
    for layer in layers:
        layer.stateful, layer._carried = False, None
    try:
        yield
    finally:
        for layer, stateful, carried, fixed_batch in saved:
            layer.stateful, layer._carried, layer._fixed_batch = stateful, carried, fixed_batch


class _OnnxRecurrentSpec:
    """How one layer's step loop is written as one ONNX recurrent operator (weights in ONNX's layout)."""

    def __init__(self, layer: RNN):
        cell = layer.cell
        self.op = {LSTMCell: "LSTM", GRUCell: "GRU", SimpleRNNCell: "RNN"}[type(cell)]
        functions = [cell.activation]
        if self.op in ("LSTM", "GRU"):
            functions = [cell.recurrent_activation, cell.activation] + (
                [cell.activation] if self.op == "LSTM" else []
            )
        self.activations = [onnx_activation(fn) for fn in functions]
        self.units = cell.units
        self.linear_before_reset = int(self.op == "GRU" and cell.reset_after)
        kernel, recurrent, *bias = (w.read().detach() for w in cell.keras_weights())
        blocks = _KERAS_BLOCKS_IN_ONNX_ORDER[self.op]
        self.W = self._reorder(kernel.t(), blocks).unsqueeze(0)  # (1, gates*units, features)
        self.R = self._reorder(recurrent.t(), blocks).unsqueeze(0)  # (1, gates*units, units)
        k_units = self.W.shape[1]
        if not bias:
            input_bias = recurrent_bias = kernel.new_zeros(k_units)
        elif bias[0].dim() == 2:  # GRU reset_after: rows (input bias, recurrent bias)
            input_bias, recurrent_bias = (self._reorder(b, blocks) for b in bias[0])
        else:
            input_bias, recurrent_bias = self._reorder(bias[0], blocks), kernel.new_zeros(k_units)
        self.B = torch.cat([input_bias, recurrent_bias]).unsqueeze(0)  # (1, 2*gates*units)

    def _reorder(self, value: torch.Tensor, blocks) -> torch.Tensor:
        """Keras gate blocks (along the first axis) -> ONNX's gate order."""
        parts = value.split(self.units, dim=0)
        return torch.cat([parts[i] for i in blocks], dim=0).contiguous()

    @staticmethod
    def supports(layer: RNN) -> bool:
        cell = layer.cell
        if type(cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
            return False
        functions = [cell.activation, getattr(cell, "recurrent_activation", activations.sigmoid)]
        return all(onnx_activation(fn) is not None for fn in functions)


class _RecurrentOp(torch.autograd.Function):
    """Values: the layer's own step loop. In the ONNX graph: one LSTM/GRU/RNN operator.

    Inputs: ``x (batch, timesteps, features)``, the initial states, each ``(batch, units)``, the layer's
    parameters (the tracer must see every tensor the loop reads as an input of the operator; the graph
    holds the weights as constants in ONNX's layout instead), and the ``_StepLoop``.
    Outputs: the output sequence ``(batch, timesteps, units)`` and the final states.
    """

    @staticmethod
    def forward(ctx, x, *rest):
        run = rest[-1]
        return run(x, list(rest[: run.n_states]))

    @staticmethod
    def symbolic(g, x, *rest):
        run = rest[-1]
        states, spec = rest[: run.n_states], run.spec

        def constant(value):
            return g.op("Constant", value_t=value)

        x_time_major = g.op("Transpose", x, perm_i=[1, 0, 2])
        shape = g.op("Shape", x_time_major)
        timesteps = g.op("Gather", shape, constant(torch.tensor(0)))
        batch = g.op("Slice", shape, constant(torch.tensor([1])), constant(torch.tensor([2])))
        lengths = g.op("Cast", g.op("Expand", timesteps, batch), to_i=6)  # int32, every row full length
        initial = [g.op("Unsqueeze", s, constant(torch.tensor([0]))) for s in states]
        names = [name for name, _, _ in spec.activations]
        attributes = {"hidden_size_i": spec.units, "activations_s": names}
        alphas = [alpha for _, alpha, _ in spec.activations if alpha is not None]
        betas = [beta for _, _, beta in spec.activations if beta is not None]
        if alphas:
            attributes["activation_alpha_f"] = alphas
        if betas:
            attributes["activation_beta_f"] = betas
        if spec.op == "GRU":
            attributes["linear_before_reset_i"] = spec.linear_before_reset
        W, R, B = constant(spec.W), constant(spec.R), constant(spec.B)
        outputs = g.op(
            spec.op, x_time_major, W, R, B, lengths, *initial, outputs=1 + len(states), **attributes
        )
        sequence, *finals = outputs
        sequence = g.op("Squeeze", sequence, constant(torch.tensor([1])))  # (T, 1, B, U) -> (T, B, U)
        sequence = g.op("Transpose", sequence, perm_i=[1, 0, 2])
        finals = [g.op("Squeeze", f, constant(torch.tensor([0]))) for f in finals]
        return (sequence, *finals)


class _StepLoop:
    """The callable handed to ``_RecurrentOp``: runs the layer's loop, carries its ONNX spec."""

    def __init__(self, layer: RNN, n_states: int):
        self.spec = _OnnxRecurrentSpec(layer)
        self.layer, self.n_states = layer, n_states

    def __call__(self, x, states):
        layer = self.layer
        # x arrives in processing order (flipped for go_backwards), which _run_steps would flip again.
        x = x.flip(1) if layer.go_backwards else x
        wanted, layer.return_sequences = layer.return_sequences, True  # the operator outputs the sequence
        try:
            outputs, _, final = layer._run_steps(x, states)
        finally:
            layer.return_sequences = wanted
        return (outputs, *final)


class RecurrentExport:
    """Context manager: the model's recurrent layers run as described in this module's docstring.

    ``streaming``: layers take their initial states from ``feed(states)`` and report final states to
    ``collect()``. ``fixed_time`` lists why the time axis cannot stay dynamic (empty when it can).
    """

    def __init__(self, model, streaming: bool = False):
        self.model, self.streaming = model, streaming
        self.layers = [m for m in model.modules() if isinstance(m, RNN)]
        self.fixed_time: list[str] = []
        self._fed: dict | None = None
        self._finals: dict = {}
        self._stateless = None
        if streaming:
            self._check_streamable()

    # ------------------------------------------------------------------ states for streaming
    def _check_streamable(self) -> None:
        if not self.layers:
            raise ValueError(
                "states=True exports the recurrent layers' states as extra inputs and outputs, but this model "
                "has no recurrent layer. Export it with states=False."
            )
        for wrapper in (m for m in self.model.modules() if isinstance(m, Bidirectional)):
            raise ValueError(
                f"states=True cannot stream layer '{wrapper.name}' (Bidirectional): its backward direction reads "
                "the sequence from the end, so it needs the whole sequence in one call. Export with "
                "states=False, or use a unidirectional layer for streaming."
            )
        for layer in self.layers:
            if layer.go_backwards:
                raise ValueError(
                    f"states=True cannot stream layer '{layer.name}': go_backwards=True reads the sequence "
                    "from the end, so it needs the whole sequence in one call. Export with states=False."
                )

    def state_layout(self) -> list[tuple[RNN, str, int]]:
        """(layer, state name, size) for every state input/output, in order."""
        layout = []
        for layer in self.layers:
            sizes = layer.cell.state_size
            sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
            layout += [(layer, name, size) for name, size in zip(state_names(layer), sizes)]
        return layout

    def feed(self, states) -> None:
        """The initial states for the next forward pass, in ``state_layout`` order."""
        states, self._fed, self._finals = list(states), {}, {}
        for layer in self.layers:
            count = len(state_names(layer))
            self._fed[layer], states = states[:count], states[count:]

    def collect(self) -> list[torch.Tensor]:
        """The final states of the forward pass just run, in ``state_layout`` order."""
        missing = [layer.name for layer in self.layers if layer not in self._finals]
        if missing:
            raise ValueError(
                f"states=True: the recurrent layer(s) {missing} did not run in the model's forward pass, so "
                "they have no state to stream. Export with states=False."
            )
        return [s for layer in self.layers for s in self._finals[layer]]

    # ------------------------------------------------------------------ entering and leaving
    def __enter__(self):
        # A stateful layer's carried states are not part of the exported computation (states=True
        # streams them explicitly); they are put back untouched afterwards.
        self._stateless = without_carried_states(self.layers)
        self._stateless.__enter__()
        for layer in self.layers:
            layer.call = self._patched_call(layer, layer.call)
        return self

    def _patched_call(self, layer, original):
        # The same parameters as RNN.call: Layer.forward reads them to decide what to pass.
        def call(inputs, mask=None, initial_state=None, training=False):
            return self._call(layer, original, inputs, mask, initial_state, training)

        return call

    def __exit__(self, *exc):
        for layer in self.layers:
            layer.__dict__.pop("call", None)  # the class's own call again
        self._stateless.__exit__(*exc)
        return False

    # ------------------------------------------------------------------ one layer call
    def _call(self, layer: RNN, original, inputs, mask=None, initial_state=None, training=False):
        if self.streaming:
            if initial_state is not None:
                raise ValueError(
                    f"states=True cannot stream layer '{layer.name}': it receives its initial state from another "
                    "layer of the model (an encoder-decoder), so its state is not carried between chunks. "
                    "Export with states=False."
                )
            if layer in self._finals:
                raise ValueError(
                    f"states=True cannot stream layer '{layer.name}': the model calls it more than once, so it "
                    "has several states. Export with states=False."
                )
            initial_state = self._fed[layer]
        run_generic = layer.execution_path() == "generic" or mask is not None
        if run_generic:
            reason = self._fixed_reason(layer, mask)
            if reason is None:
                return self._as_onnx_operator(layer, inputs, initial_state)
            if reason not in self.fixed_time:
                self.fixed_time.append(reason)
        return self._run_original(layer, original, inputs, mask, initial_state, training)

    @staticmethod
    def _fixed_reason(layer: RNN, mask) -> str | None:
        """Why this layer's time axis must be fixed, or None when one ONNX operator computes it."""
        if mask is not None:
            return f"layer '{layer.name}' receives a mask (from Masking or Embedding(mask_zero=True))"
        if not _OnnxRecurrentSpec.supports(layer):
            cell = layer.cell
            if type(cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
                return f"layer '{layer.name}' runs the cell {type(cell).__name__}, which ONNX has no operator for"
            names = [
                activations.serialize(fn)
                for fn in (cell.activation, getattr(cell, "recurrent_activation", None))
                if fn is not None and onnx_activation(fn) is None
            ]
            return f"layer '{layer.name}' uses the activation {names[0]!r}, which ONNX's recurrent operators lack"
        return None

    def _run_original(self, layer, original, inputs, mask, initial_state, training):
        if not self.streaming:
            return original(inputs, mask=mask, initial_state=initial_state, training=training)
        wanted, layer.return_state = layer.return_state, True
        try:
            output, *final = original(inputs, mask=mask, initial_state=initial_state, training=training)
        finally:
            layer.return_state = wanted
        self._finals[layer] = final
        return [output, *final] if wanted else output

    def _as_onnx_operator(self, layer, inputs, initial_state):
        if initial_state is None:
            sizes = layer.cell.state_size
            sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
            initial_state = [inputs.new_zeros(inputs.shape[0], n) for n in sizes]
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        sequence = inputs.flip(1) if layer.go_backwards else inputs
        tensors = [*layer.parameters(), *layer.buffers()]
        run = _StepLoop(layer, len(initial_state))
        outputs, *final = _RecurrentOp.apply(sequence, *initial_state, *tensors, run)
        if self.streaming:
            self._finals[layer] = final
        result = outputs if layer.return_sequences else final[0]
        return [result, *final] if layer.return_state else result
