"""RNN: runs a recurrent cell over the time axis. The base of LSTM, GRU and SimpleRNN.

Input ``(batch, timesteps, features)``; output ``(batch, units)``, or ``(batch, timesteps, units)``
with ``return_sequences=True``; with ``return_state=True`` a list ``[output, *final_states]``.

Two execution paths with one semantics. When the cell's configuration is one that a PyTorch fused
kernel computes exactly (default activations), the whole sequence goes through that kernel (cuDNN
on a GPU). Otherwise a step loop runs the cell: the input kernel is applied to all timesteps in one
matrix product, and only the recurrent product is done per step.
"""

from __future__ import annotations

import torch

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.rnn.fused import FusedKernelCache, run_fused

__all__ = ["RNN"]


def _state_sizes(cell) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class RNN(Layer):
    """A recurrent layer over any cell with ``state_size`` and ``call(x_t, states) -> (output, new_states)``."""

    expected_ndim = 3
    input_axes = "(batch, timesteps, features)"

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, unroll=False,
                 input_length=None, **kwargs):
        self._input_length = input_length  # read by _shape_from_input_dim during Layer.__init__
        super().__init__(**kwargs)
        if not isinstance(cell, torch.nn.Module) or not hasattr(cell, "state_size"):
            raise TypeError(
                "RNN needs a cell: a Layer with a `state_size` attribute and a method "
                f"call(inputs, states) -> (output, new_states). Received: cell={cell!r}"
            )
        self.cell = cell
        self.cell.trainable = self.trainable
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        # Loops are never unrolled into the graph: the fused kernels and the step loop are faster
        # than an unrolled graph in PyTorch. The flag is kept for configs and tutorials.
        self.unroll = bool(unroll)
        self._fused_cache = FusedKernelCache()
        if self.input_shape_declared is not None and input_length is not None:
            self.input_shape_declared = self.input_shape_declared[:1] + (input_length,) + self.input_shape_declared[2:]

    def _shape_from_input_dim(self, input_dim):
        return (self._input_length, input_dim)

    # ------------------------------------------------------------------ shapes
    @property
    def units(self) -> int:
        return self.cell.units

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if input_shape[2] is None:
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) needs the number of features (last axis) to be "
                f"known; received input shape {format_shape(input_shape)}.",
                self, input_shape,
            )

    def build(self, input_shape):
        self.cell.ensure_built((input_shape[0], input_shape[2]))

    def compute_output_shape(self, input_shape):
        batch, timesteps = input_shape[0], input_shape[1]
        units = self.cell.output_size if hasattr(self.cell, "output_size") else _state_sizes(self.cell)[0]
        output = (batch, timesteps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [output] + [(batch, size) for size in _state_sizes(self.cell)]
        return output

    def hint_for_next_layer(self, error):
        if error.expected_ndim == 3 and not self.return_sequences:
            return (
                f"'{self.name}' outputs only its last timestep, shape (batch, units). To stack recurrent layers, "
                f"set return_sequences=True on '{self.name}' so that it passes on the whole sequence, "
                "shape (batch, timesteps, units)."
            )
        return ""

    # ------------------------------------------------------------------ computing
    def execution_path(self) -> str:
        """'fused' when a PyTorch fused kernel (cuDNN on GPU) runs this layer, else 'generic'."""
        return "fused" if getattr(self.cell, "fused_mode", None) else "generic"

    def _initial_states(self, inputs, initial_state):
        batch = inputs.shape[0]
        if initial_state is None:
            if hasattr(self.cell, "get_initial_state"):
                return self.cell.get_initial_state(batch, inputs)
            return [inputs.new_zeros(batch, size) for size in _state_sizes(self.cell)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = _state_sizes(self.cell)
        got = [tuple(s.shape) for s in states]
        if len(states) != len(sizes) or any(tuple(s.shape) != (batch, n) for s, n in zip(states, sizes)):
            want = [(batch, n) for n in sizes]
            raise ValueError(
                f"Layer '{self.name}': initial_state must be {len(sizes)} tensor(s) of shapes {want}; "
                f"received shapes {got}."
            )
        return [s.to(dtype=inputs.dtype) for s in states]

    def call(self, inputs, initial_state=None, training=False):
        states = self._initial_states(inputs, initial_state)
        mode = getattr(self.cell, "fused_mode", None)
        if mode is not None:
            sequence = inputs.flip(1) if self.go_backwards else inputs
            weights = self.cell.fused_weights()
            self._fused_cache.prepare(mode, weights, self.cell.units)
            outputs, states = run_fused(mode, sequence, states, weights, training)
            last = states[0]
        else:
            outputs, last, states = self._run_steps(inputs, states)
        result = outputs if self.return_sequences else last
        return [result] + list(states) if self.return_state else result

    def _run_steps(self, inputs, states):
        """The step loop: returns (outputs or None, last output, final states)."""
        cell = self.cell
        if hasattr(cell, "project_inputs"):
            per_step = cell.project_inputs(inputs).unbind(1)
            step = cell.step
        else:
            per_step = inputs.unbind(1)
            step = cell
        if self.go_backwards:
            per_step = per_step[::-1]
        outputs = []
        for x_t in per_step:
            output, states = step(x_t, states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(output)
        stacked = torch.stack(outputs, dim=1) if self.return_sequences else None
        return stacked, outputs[-1], states

    # ------------------------------------------------------------------ weights and config
    def keras_weights(self):
        return self.cell.keras_weights()

    def regularization_losses(self):
        return self.cell.regularization_losses()

    def get_config(self):
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "unroll": self.unroll,
        }
        if type(self) is RNN:
            config["cell"] = {"class_name": type(self.cell).__name__, "config": self.cell.get_config()}
        return config

    def extra_repr(self):
        return f"name={self.name!r}, path={self.execution_path()}"
