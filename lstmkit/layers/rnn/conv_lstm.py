"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: an LSTM whose input and recurrent transformations are
convolutions, with Keras 3's arguments, weight layout and math (the step and the weights are
``ConvLSTMCell``'s, lstmkit/layers/rnn/conv_lstm_cell.py).

The layers run on the recurrent machinery of ``RNN`` (masks, ``go_backwards``, ``stateful``, dropout masks fixed
over timesteps): the input convolution runs once over all timesteps (``project_inputs``), only the recurrent
convolution per step. Inside, states are channels-first; inputs, outputs and states given or returned are in
the layer's ``data_format``.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.layers.base import InputShapeError, format_shape
from lstmkit.layers.conv_nd import _AXIS_NAMES, windows
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.conv_lstm_cell import ConvLSTMCell

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]


class _ConvLSTM(RNN):
    """The shared ConvLSTM layer; subclasses set ``rank``."""

    rank = 2
    cell_class = ConvLSTMCell

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        owner = type(self).__name__
        if kwargs.get("unroll"):
            raise ValueError(
                f"{owner}: unroll=True is not possible for convolutional recurrent layers (as in Keras). Remove it."
            )
        cell = ConvLSTMCell(
            self.rank,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            owner=owner,
            dtype=kwargs.get("dtype"),
        )
        self.data_format = cell.data_format  # read by the shape helpers during RNN.__init__
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            **kwargs,
        )
        self.expected_ndim = self.rank + 3
        spatial = ", ".join(_AXIS_NAMES[self.rank])
        self.input_axes = (
            f"(batch, timesteps, {spatial}, channels)"
            if self.data_format == "channels_last"
            else f"(batch, timesteps, channels, {spatial})"
        )

    def _shape_from_input_dim(self, input_dim):
        raise TypeError(
            f"{type(self).__name__} does not take input_dim=: give the whole input shape, e.g. "
            f"input_shape=(timesteps, {', '.join(_AXIS_NAMES[self.rank])}, channels)."
        )

    def __getattr__(self, name):
        # Keras exposes the cell's arguments on the layer (layer.filters, layer.kernel_size, ...).
        if name in _CELL_ATTRIBUTES:
            return getattr(self._modules["cell"], name)
        return super().__getattr__(name)

    # ------------------------------------------------------------------ shapes
    def _channels_axis(self) -> int:
        return self.rank + 2 if self.data_format == "channels_last" else 2

    def _spatial(self, shape) -> tuple:
        """The spatial sizes of a full (batch, time, ...) shape."""
        return tuple(shape[2:-1]) if self.data_format == "channels_last" else tuple(shape[3:])

    def check_input_shape(self, input_shape):
        name = f"Layer '{self.name}' ({type(self).__name__})"
        if len(input_shape) != self.expected_ndim:
            hint = ""
            if len(input_shape) == self.expected_ndim - 1:
                hint = (
                    f" {type(self).__name__} takes a sequence of {self.rank}-D frames per sample. If each sample is "
                    "a single frame, use a convolution layer instead; if the frames have one channel and no "
                    "channels axis, add one: x = x[..., None]."
                )
            raise InputShapeError(
                f"{name} expects {self.expected_ndim}-D input {self.input_axes}; received a {len(input_shape)}-D "
                f"input of shape {format_shape(input_shape)}.{hint}",
                self,
                input_shape,
                self.expected_ndim,
            )
        axis = self._channels_axis()
        if input_shape[axis] is None:
            raise InputShapeError(
                f"{name} needs the number of channels (axis {axis}) to be known; received input shape "
                f"{format_shape(input_shape)}.",
                self,
                input_shape,
            )
        built = self.built_input_shape
        if built is not None and built[axis] != input_shape[axis]:
            raise InputShapeError(
                f"{name} was built for inputs with {built[axis]} channels, shape {format_shape(built)}; received "
                f"shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )
        sizes = self._spatial(input_shape)
        if 0 in self.cell.output_spatial(sizes):
            raise InputShapeError(
                f"{name} has a kernel spanning {format_shape(windows(self.cell.kernel_size, self.cell.dilation_rate))}, "
                f"larger than its frames' {format_shape(sizes)} (input shape {format_shape(input_shape)}), so "
                "padding='valid' leaves no output. Use padding='same', a smaller kernel_size, or larger frames.",
                self,
                input_shape,
            )

    def build(self, input_shape):
        self.cell.ensure_built((input_shape[0],) + tuple(input_shape[2:]))

    def _state_shape(self, batch, sizes) -> tuple:
        """One state's shape in the layer's data_format."""
        out = self.cell.output_spatial(sizes)
        filters = self.cell.filters
        return (batch, *out, filters) if self.data_format == "channels_last" else (batch, filters, *out)

    def compute_output_shape(self, input_shape):
        batch, timesteps = input_shape[0], input_shape[1]
        state = self._state_shape(batch, self._spatial(input_shape))
        output = (batch, timesteps) + state[1:] if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def hint_for_next_layer(self, error):
        if error.expected_ndim == self.expected_ndim and not self.return_sequences:
            return (
                f"'{self.name}' outputs only its last timestep. To stack {type(self).__name__} layers, set "
                f"return_sequences=True on '{self.name}' so that it passes on the whole sequence of frames."
            )
        return ""

    # ------------------------------------------------------------------ states (channels-first inside)
    def _to_inside(self, state: torch.Tensor) -> torch.Tensor:
        return state.movedim(-1, 1) if self.data_format == "channels_last" else state

    def _to_outside(self, state: torch.Tensor) -> torch.Tensor:
        return state.movedim(1, -1) if self.data_format == "channels_last" else state

    def _state_shapes(self, inputs):
        batch, filters = inputs.shape[0], self.cell.filters
        out = self.cell.output_spatial(tuple(inputs.shape[3:]))
        return [(batch, filters, *out)] * 2

    def reset_states(self, states=None) -> None:
        """Zero the carried states (or set them to ``states``: [h, c] in the layer's data_format)."""
        if states is None:
            self._carried = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != 2:
            raise ValueError(f"Layer '{self.name}' has 2 states, [h, c]; received {len(states)}.")
        self._carried = [
            self._to_inside(torch.as_tensor(np.asarray(s), dtype=self.compute_dtype)) for s in states
        ]

    reset_state = reset_states

    @property
    def states(self):
        return None if self._carried is None else [self._to_outside(s) for s in self._carried]

    def _dropout_masks(self, inputs, training=False):
        """Per-gate dropout masks, fixed over timesteps (Keras 3): input ``(4, batch, channels, *spatial)``,
        recurrent ``(4, batch, filters, *out_spatial)``; None where off."""
        cell = self.cell
        if not training:
            return None, None
        step_shape = (inputs.shape[0],) + tuple(inputs.shape[2:])
        input_masks = self._bernoulli((4,) + step_shape, cell.dropout, inputs) if cell.dropout else None
        recurrent_masks = None
        if cell.recurrent_dropout:
            shape = self._state_shapes(inputs)[0]
            recurrent_masks = self._bernoulli((4,) + shape, cell.recurrent_dropout, inputs)
        return input_masks, recurrent_masks

    # ------------------------------------------------------------------ computing
    def call(self, inputs, mask=None, initial_state=None, training=False):
        """``inputs (batch, timesteps, *spatial, channels)``; ``mask (batch, timesteps)``; ``initial_state``
        [h, c] each shaped like one output frame. Returns the last output frame, all of them
        (``return_sequences``), and with ``return_state`` also [h, c]."""
        batch, timesteps = inputs.shape[:2]
        if mask is not None and tuple(mask.shape) != (batch, timesteps):
            raise ValueError(
                f"Layer '{self.name}': a mask has one entry per sample and timestep, shape (batch, timesteps) = "
                f"{(batch, timesteps)} here; received a mask of shape {tuple(mask.shape)}."
            )
        if self.stateful:
            self._check_stateful_batch(batch)
        # (batch, time, channels, *spatial)
        x = inputs.movedim(-1, 2) if self.data_format == "channels_last" else inputs
        if x.dim() != self.expected_ndim or x.shape[2] != self.cell.kernel.shape[-2]:
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        if initial_state is not None:
            initial_state = self._inside_initial_state(initial_state, inputs)
        states, zero_states = self._initial_states(x, initial_state)
        input_masks, recurrent_masks = self._dropout_masks(x, training)
        outputs, last, states = self._run_steps(x, states, mask, input_masks, recurrent_masks, zero_states)
        self.cell._recurrent_weight = None
        if self.stateful:
            self._carried = [s.detach() for s in states]
        if self.return_sequences:
            result = outputs.movedim(2, -1) if self.data_format == "channels_last" else outputs
        else:
            result = self._to_outside(last)
        return [result] + [self._to_outside(s) for s in states] if self.return_state else result

    def _inside_initial_state(self, initial_state, inputs):
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        shape = self._state_shape(inputs.shape[0], self._spatial(tuple(inputs.shape)))
        got = [tuple(s.shape) for s in states]
        if len(states) != 2 or any(g != shape for g in got):
            raise ValueError(
                f"Layer '{self.name}': initial_state must be 2 tensors [h, c], each of shape {shape} (one output "
                f"frame per sample); received shapes {got}."
            )
        return [self._to_inside(s) for s in states]


_CELL_ATTRIBUTES = frozenset(
    (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "activation",
        "recurrent_activation",
        "use_bias",
        "kernel_initializer",
        "recurrent_initializer",
        "bias_initializer",
        "unit_forget_bias",
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
        "dropout",
        "recurrent_dropout",
    )
)


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over sequences of 1-D signals.

    Input ``(batch, timesteps, steps, channels)`` (channels-first: ``(batch, timesteps, channels, steps)``).
    Output ``(batch, new_steps, filters)``; with ``return_sequences=True`` ``(batch, timesteps, new_steps,
    filters)``; with ``return_state=True`` ``[output, h, c]``, h and c ``(batch, new_steps, filters)``.
    Weights: ``kernel (k, channels, 4*filters)``, ``recurrent_kernel (k, filters, 4*filters)``, ``bias``.
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over sequences of images (video frames).

    Input ``(batch, timesteps, rows, cols, channels)`` (channels-first: ``(batch, timesteps, channels, rows,
    cols)``). Output ``(batch, new_rows, new_cols, filters)``; with ``return_sequences=True`` ``(batch,
    timesteps, new_rows, new_cols, filters)``; with ``return_state=True`` ``[output, h, c]``.
    Weights: ``kernel (kr, kc, channels, 4*filters)``, ``recurrent_kernel (kr, kc, filters, 4*filters)``,
    ``bias (4*filters,)``.
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over sequences of volumes: input ``(batch, timesteps, depth, rows, cols,
    channels)``; shapes and weights as ConvLSTM2D with one more spatial axis."""

    rank = 3
