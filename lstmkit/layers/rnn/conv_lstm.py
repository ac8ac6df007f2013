"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: an LSTM whose input and recurrent transformations are
convolutions, with Keras 3's arguments, weight layout and math.

For each timestep, with ``*`` a convolution (``strides``, ``padding``, ``dilation_rate`` for the input; always
stride 1, ``'same'`` padding and no dilation for the recurrent state, as in Keras)::

    z = x_t * kernel + bias + h_prev * recurrent_kernel        (4 * filters channels, gates i, f, c, o)
    i, f, o = recurrent_activation(z_i), recurrent_activation(z_f), recurrent_activation(z_o)
    c = f * c_prev + i * activation(z_c);   h = o * activation(c)

Weights (Keras layout): ``kernel (*kernel_size, channels, 4*filters)``, ``recurrent_kernel (*kernel_size,
filters, 4*filters)``, ``bias (4*filters,)``. ``unit_forget_bias=True`` sets the forget slice of the bias to 1.

The layers run on the recurrent machinery of ``RNN`` (masks, ``go_backwards``, ``stateful``, dropout masks fixed
over timesteps): the input convolution runs once over all timesteps (``project_inputs``), only the recurrent
convolution per step. Inside, states are channels-first; inputs, outputs and states given or returned are in
the layer's ``data_format``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import data_format_mode, padding_mode, positive_int
from lstmkit.layers.conv_nd import (
    _AXIS_NAMES,
    channels_axis,
    convolve_torch,
    int_tuple,
    output_sizes,
    torch_kernel,
    windows,
)
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.cell import check_rate

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]


class ConvLSTMCell(Layer):
    """One ConvLSTM step of spatial rank ``rank``. Per-step input ``(batch, *spatial, channels)``
    (channels-first: ``(batch, channels, *spatial)``); states ``[h, c]`` and output ``h``, each
    ``(batch, filters, *out_spatial)`` inside the layer."""

    def __init__(
        self,
        rank,
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
        owner=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        owner = owner or type(self).__name__
        self.rank = rank
        self.expected_ndim = rank + 2
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size = int_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = int_tuple(strides, rank, "strides", owner)
        self.dilation_rate = int_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). Received: "
                f"strides={strides!r}, dilation_rate={dilation_rate!r}. Use one of them."
            )
        self.padding = padding_mode(padding, owner, allow_causal=False)
        self.data_format = data_format_mode(data_format, owner)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self._act = activations.raw(self.activation)
        self._rec_act = activations.raw(self.recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.gates = 4
        self._recurrent_weight = None  # torch-layout recurrent kernel, prepared once per sequence

    constraint_arguments: ClassVar[dict] = {
        "kernel": "kernel_constraint",
        "recurrent_kernel": "recurrent_constraint",
        "bias": "bias_constraint",
    }

    @property
    def state_size(self) -> list[int]:
        """The channels of each state, [h, c]; their spatial size follows the input's."""
        return [self.filters, self.filters]

    def output_spatial(self, sizes) -> tuple:
        return output_sizes(sizes, windows(self.kernel_size, self.dilation_rate), self.strides, self.padding)

    # ------------------------------------------------------------------ weights
    def build(self, input_shape):
        channels = input_shape[channels_axis(self.rank, self.data_format)]
        four = 4 * self.filters
        self.kernel = self._new_weight(self.kernel_size + (channels, four), self.kernel_initializer)
        self.recurrent_kernel = self._new_weight(
            self.kernel_size + (self.filters, four), self.recurrent_initializer
        )
        if self.use_bias:
            bias = self.bias_initializer((four,), dtype=self.compute_dtype)
            if self.unit_forget_bias:
                bias[self.filters : 2 * self.filters] = 1.0  # Keras sets the forget slice to exactly 1
            self.bias = torch.nn.Parameter(bias, requires_grad=self.trainable)
        else:
            self.bias = None

    def regularization_losses(self):
        return self._penalties(
            (self.kernel_regularizer, getattr(self, "kernel", None)),
            (self.recurrent_regularizer, getattr(self, "recurrent_kernel", None)),
            (self.bias_regularizer, getattr(self, "bias", None)),
        )

    # ------------------------------------------------------------------ computing (channels-first inside)
    def project_inputs(self, inputs, gate_masks=None):
        """The input convolution of every timestep at once: ``(batch, time, channels, *spatial)`` ->
        ``(batch, time, 4*filters, *out_spatial)``. ``gate_masks (4, batch, channels, *spatial)``: one input
        dropout mask per gate. Also prepares the recurrent kernel for the steps that follow."""
        self._recurrent_weight = torch_kernel(self.recurrent_kernel).contiguous()
        batch, steps = inputs.shape[:2]
        folded = inputs.reshape((batch * steps,) + tuple(inputs.shape[2:]))
        weight = torch_kernel(self.kernel)
        if gate_masks is None:
            z = convolve_torch(folded, weight, self.bias, self.strides, self.padding, self.dilation_rate)
        else:
            biases = self.bias.chunk(4) if self.bias is not None else [None] * 4
            z = torch.cat(
                [
                    convolve_torch(
                        (inputs * mask.unsqueeze(1)).reshape(folded.shape),
                        w,
                        b,
                        self.strides,
                        self.padding,
                        self.dilation_rate,
                    )
                    for mask, w, b in zip(gate_masks, weight.chunk(4), biases)
                ],
                dim=1,
            )
        return z.reshape((batch, steps) + tuple(z.shape[1:]))

    def _recurrent(self, h, gate_masks=None):
        weight = self._recurrent_weight
        if weight is None:  # a step without project_inputs first (the Keras cell API)
            weight = torch_kernel(self.recurrent_kernel)
        ones = (1,) * self.rank
        if gate_masks is None:
            return convolve_torch(h, weight, None, ones, "same", ones)
        return torch.cat(
            [convolve_torch(h * m, w, None, ones, "same", ones) for m, w in zip(gate_masks, weight.chunk(4))],
            dim=1,
        )

    def step(self, projected, states, recurrent_masks=None):
        """One timestep from the projected input ``(batch, 4*filters, *out_spatial)``: (output, [h, c])."""
        h, c = states
        z = projected + self._recurrent(h, recurrent_masks)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
        c = self._rec_act(z_f) * c + self._rec_act(z_i) * self._act(z_c)
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def first_step(self, projected):
        """``step`` from zero states: no recurrent convolution, and c = i * activation(z_c)."""
        z_i, _, z_c, z_o = projected.chunk(4, dim=1)
        c = self._rec_act(z_i) * self._act(z_c)
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def call(self, inputs, states):
        """The Keras cell API, in the layer's data_format: ``inputs (batch, *spatial, channels)``, states
        ``[h, c]`` each ``(batch, *out_spatial, filters)`` -> ``(h, [h, c])``."""
        last = self.data_format == "channels_last"
        to_first = (lambda t: t.movedim(-1, 1)) if last else (lambda t: t)
        to_user = (lambda t: t.movedim(1, -1)) if last else (lambda t: t)
        self._recurrent_weight = None
        projected = self.project_inputs(to_first(inputs).unsqueeze(1))[:, 0]
        _, (h, c) = self.step(projected, [to_first(s) for s in states])
        return to_user(h), [to_user(h), to_user(c)]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        raise TypeError("ConvLSTMCell is rebuilt by its layer (ConvLSTM1D/2D/3D), not on its own.")


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
        x = (
            inputs.movedim(-1, 2) if self.data_format == "channels_last" else inputs
        )  # (batch, time, C, *spatial)
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
