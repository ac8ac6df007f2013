"""RNN: runs a recurrent cell over the time axis. The base of LSTM, GRU and SimpleRNN.

Input ``(batch, timesteps, features)``; output ``(batch, units)``, or ``(batch, timesteps, units)``
with ``return_sequences=True``; with ``return_state=True`` a list ``[output, *final_states]``.

Two execution paths with one semantics. When the cell's configuration is one that a PyTorch fused
kernel computes exactly (default activations, no mask, no recurrent dropout while training), the whole
sequence goes through that kernel (cuDNN on a GPU). Otherwise a step loop runs the cell: the input
kernel is applied to all timesteps in one matrix product, and only the recurrent part runs per step.

Masks (Keras semantics): at a masked timestep the state is carried over unchanged and the output
repeats the previous output (zeros before the first unmasked step); the last output is the one at the
last unmasked step. ``stateful=True`` carries the final states of batch i into batch i of the next call.
"""

from __future__ import annotations

import torch

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.call_context import is_tracing
from lstmkit.layers.rnn.fused import FusedKernelCache, run_fused
from lstmkit.layers.serialization import deserialize, serialize

__all__ = ["RNN"]


def _state_sizes(cell) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class RNN(Layer):
    """A recurrent layer over any cell with ``state_size`` and ``call(x_t, states) -> (output, new_states)``."""

    expected_ndim = 3
    input_axes = "(batch, timesteps, features)"
    supports_masking = True
    cell_class = None  # set by LSTM/GRU/SimpleRNN, whose configs list the cell's arguments directly

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        input_length=None,
        **kwargs,
    ):
        self._input_length = input_length  # read by _shape_from_input_dim during Layer.__init__
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            from lstmkit.layers.rnn.stacked_cells import StackedRNNCells

            cell = StackedRNNCells(list(cell))
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
        self.stateful = bool(stateful)
        self.zero_output_for_mask = bool(
            zero_output_for_mask
        )  # masked steps output zeros (Bidirectional sets it)
        # Loops are never unrolled into the graph: the fused kernels and the step loop are faster
        # than an unrolled graph in PyTorch. The flag is kept for configs and tutorials.
        self.unroll = bool(unroll)
        if self.input_shape_declared is not None and input_length is not None:
            self.input_shape_declared = (
                self.input_shape_declared[:1] + (input_length,) + self.input_shape_declared[2:]
            )
        self._fused_cache = FusedKernelCache()
        self._carried: list[torch.Tensor] | None = None
        self._fixed_batch = self.declared_batch_size
        self._mask_generators: dict = {}

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
                self,
                input_shape,
            )

    def build(self, input_shape):
        self.cell.ensure_built((input_shape[0], input_shape[2]))

    def compute_output_shape(self, input_shape):
        batch, timesteps = input_shape[0], input_shape[1]
        units = getattr(self.cell, "output_size", None) or _state_sizes(self.cell)[0]
        output = (batch, timesteps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [output] + [(batch, size) for size in _state_sizes(self.cell)]
        return output

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def hint_for_next_layer(self, error):
        if error.expected_ndim == 3 and not self.return_sequences:
            return (
                f"'{self.name}' outputs only its last timestep, shape (batch, units). To stack recurrent layers, "
                f"set return_sequences=True on '{self.name}' so that it passes on the whole sequence, "
                "shape (batch, timesteps, units)."
            )
        return ""

    # ------------------------------------------------------------------ paths and states
    def execution_path(self) -> str:
        """'fused' when a PyTorch fused kernel (cuDNN on GPU) runs this layer in training, else 'generic'."""
        fusable = getattr(self.cell, "fused_mode", None) and not getattr(self.cell, "recurrent_dropout", 0.0)
        return "fused" if fusable else "generic"

    @property
    def stateful_batch_size(self) -> int | None:
        """The fixed batch size of a stateful layer (declared, or the first one it saw); None if stateless."""
        return self._fixed_batch if self.stateful else None

    def reset_states(self, states=None) -> None:
        """Zero the carried states (or set them to ``states``, a list of (batch, units) arrays)."""
        if states is None:
            self._carried = None
            return
        sizes = _state_sizes(self.cell)
        states = [
            torch.as_tensor(s, dtype=self.compute_dtype)
            for s in (states if isinstance(states, (list, tuple)) else [states])
        ]
        if len(states) != len(sizes):
            raise ValueError(f"Layer '{self.name}' has {len(sizes)} state(s); received {len(states)}.")
        self._carried = states

    reset_state = reset_states  # Keras 3 spelling

    @property
    def states(self) -> list | None:
        return self._carried

    def _check_stateful_batch(self, batch: int) -> None:
        if self._fixed_batch is None:
            self._fixed_batch = batch
        elif batch != self._fixed_batch:
            raise ValueError(
                f"Stateful layer '{self.name}' carries states for batches of {self._fixed_batch} samples; received "
                f"a batch of {batch}. Keep every batch at {self._fixed_batch} (pass batch_size={self._fixed_batch} to "
                f"fit/evaluate/predict and use a sample count divisible by it), or rebuild the layer with "
                f"batch_input_shape=({batch}, ...)."
            )

    def _initial_states(self, inputs, initial_state):
        """(states, whether they are the zero states this layer made itself)."""
        shapes = self._state_shapes(inputs)
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            got = [tuple(s.shape) for s in states]
            if len(states) != len(shapes) or any(tuple(s.shape) != shape for s, shape in zip(states, shapes)):
                raise ValueError(
                    f"Layer '{self.name}': initial_state must be {len(shapes)} tensor(s) of shapes "
                    f"{shapes}; received shapes {got}."
                )
            return [s.to(dtype=inputs.dtype, device=inputs.device) for s in states], False
        if self.stateful and self._carried is not None and not is_tracing():
            carried = [s.to(inputs.device) for s in self._carried]
            if not torch.is_inference_mode_enabled():  # states kept by predict() are inference tensors
                carried = [s.clone() if s.is_inference() else s for s in carried]
            return carried, False
        return [inputs.new_zeros(shape) for shape in shapes], True

    def _state_shapes(self, inputs) -> list[tuple]:
        """The shape of each state for a batch of ``inputs``: ``(batch, size)``. Layers whose states have more
        axes (ConvLSTM: ``(batch, filters, *spatial)``) override this."""
        return [(inputs.shape[0], n) for n in _state_sizes(self.cell)]

    def _dropout_masks(self, inputs, training):
        """(input mask(s), recurrent masks) for this batch in training, fixed over timesteps (Keras 3):
        one input mask when the fused kernel can run; one mask per gate for both when recurrent dropout is on."""
        cell = self.cell
        rate, recurrent_rate = getattr(cell, "dropout", 0.0), getattr(cell, "recurrent_dropout", 0.0)
        if not training or not (rate or recurrent_rate):
            return None, None
        batch, features = inputs.shape[0], inputs.shape[2]
        gates = cell.gates if recurrent_rate else None
        input_masks = (
            self._bernoulli((gates, batch, features) if gates else (batch, features), rate, inputs)
            if rate
            else None
        )
        if input_masks is not None and gates is None:
            return input_masks, None
        recurrent = self._bernoulli((gates, batch, cell.units), recurrent_rate, inputs)
        if input_masks is None:
            input_masks = torch.ones((gates, batch, features), dtype=inputs.dtype, device=inputs.device)
        return input_masks, recurrent

    def _bernoulli(self, shape, rate, like):
        seed = getattr(self.cell, "seed", None)
        generator = None
        if seed is not None:
            if like.device not in self._mask_generators:
                self._mask_generators[like.device] = torch.Generator(device=like.device).manual_seed(seed)
            generator = self._mask_generators[like.device]
        keep = torch.full(shape, 1.0 - rate, dtype=like.dtype, device=like.device)
        return torch.bernoulli(keep, generator=generator) / (1.0 - rate)

    # ------------------------------------------------------------------ computing
    def call(self, inputs, mask=None, initial_state=None, training=False):
        if mask is not None and tuple(mask.shape) != tuple(inputs.shape[:2]):
            raise ValueError(
                f"Layer '{self.name}': a mask has one entry per sample and timestep, shape (batch, timesteps) = "
                f"{tuple(inputs.shape[:2])} here; received a mask of shape {tuple(mask.shape)}. Masks usually come "
                "from Embedding(mask_zero=True) or Masking(); a hand-made one must match the input's first two axes."
            )
        remember = (
            self.stateful and not is_tracing()
        )  # a shape trace neither pins the batch nor carries states
        if remember:
            self._check_stateful_batch(inputs.shape[0])
        states, zero_states = self._initial_states(inputs, initial_state)
        input_masks, recurrent_masks = self._dropout_masks(inputs, training)
        if input_masks is not None and recurrent_masks is None:
            inputs = inputs * input_masks.unsqueeze(1)  # one mask for every timestep and gate
            input_masks = None
        mode = getattr(self.cell, "fused_mode", None)
        # A single timestep from zero states is cheaper as the cell's zero-state step than as a kernel call.
        single_step = zero_states and inputs.shape[1] == 1 and hasattr(self.cell, "first_step")
        if mode is not None and mask is None and recurrent_masks is None and not single_step:
            sequence = inputs.flip(1) if self.go_backwards else inputs
            weights = self.cell.fused_weights()
            self._fused_cache.prepare(mode, weights, self.cell.units)
            outputs, states = run_fused(mode, sequence, states, weights, training)
            last = states[0]
        else:
            outputs, last, states = self._run_steps(
                inputs, states, mask, input_masks, recurrent_masks, zero_states
            )
        if remember:
            self._carried = [s.detach() for s in states]
        result = outputs if self.return_sequences else last
        return [result] + list(states) if self.return_state else result

    def _run_steps(
        self, inputs, states, mask=None, input_masks=None, recurrent_masks=None, zero_states=False
    ):
        """The step loop: returns (outputs or None, last output, final states)."""
        cell = self.cell
        # From zero states the first step needs no recurrent product (the cell's first_step).
        first_step = getattr(cell, "first_step", None) if zero_states and recurrent_masks is None else None
        if hasattr(cell, "project_inputs"):
            # Time-major and contiguous, so that every step reads one dense block.
            per_step = cell.project_inputs(inputs, input_masks).transpose(0, 1).contiguous().unbind(0)

            def step(x_t, states):
                return cell.step(x_t, states, recurrent_masks)
        else:
            per_step = inputs.unbind(1)

            def step(x_t, states):
                output, new_states = cell(x_t, states)
                return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]

        keep = None if mask is None else mask.to(torch.bool).unbind(1)
        if self.go_backwards:
            per_step = per_step[::-1]
            keep = None if keep is None else keep[::-1]
        outputs, previous = [], None
        for t, x_t in enumerate(per_step):
            output, new_states = first_step(x_t) if t == 0 and first_step is not None else step(x_t, states)
            if keep is not None:  # masked rows keep their state and repeat their last output
                row = keep[t].reshape(keep[t].shape + (1,) * (output.dim() - 1))
                if previous is None or self.zero_output_for_mask:
                    previous = torch.zeros_like(output)
                output = torch.where(row, output, previous)
                new_states = [torch.where(row, new, old) for new, old in zip(new_states, states)]
                previous = output
            states = new_states
            outputs.append(output)
        stacked = torch.stack(outputs, dim=1) if self.return_sequences else None
        return stacked, outputs[-1], states

    # ------------------------------------------------------------------ weights and config
    def keras_weights(self):
        return self.cell.keras_weights()

    def get_config(self):
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        if self.cell_class is not None and type(self.cell) is self.cell_class:
            cell_config = self.cell.get_config()
            for key in ("name", "trainable", "dtype", "batch_input_shape"):
                cell_config.pop(key, None)
            config.update(cell_config)
        else:
            config["cell"] = serialize(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("cell"), dict):
            cell = config.pop("cell")
            cell = deserialize(cell, custom_objects) if "class_name" in cell else cell
            return cls(cell, **config)
        return cls(**config)

    def extra_repr(self):
        return f"name={self.name!r}, path={self.execution_path()}"
