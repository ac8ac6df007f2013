"""The base of the built-in recurrent cells (LSTMCell, GRUCell, SimpleRNNCell).

A cell computes one timestep: ``call(x_t, states) -> (output, new_states)`` with ``x_t`` of shape
``(batch, features)`` and each state ``(batch, units)``: the Keras cell API, which user-written cells
follow too. Built-in cells split that step in two so that the recurrent layer can work faster:
``project_inputs`` applies the input kernel to all timesteps in one matrix product, and ``step``
does the recurrent part. Cells whose configuration a PyTorch fused kernel computes exactly also
name it in ``fused_mode`` and hand over their weights in torch's order from ``fused_weights()``.

Weights are held in torch's layout and gate order: ``weight_ih (k*units, input_dim)``,
``weight_hh (k*units, units)``, ``bias_ih``/``bias_hh (k*units)``. ``keras_weights`` presents them in
Keras's layout (``kernel (input_dim, k*units)``, ``recurrent_kernel (units, k*units)``, ``bias``) and
gate order; ``torch_order[i]`` is the Keras gate block that torch's block ``i`` holds.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import KerasWeight, Layer, format_shape
from lstmkit.utils.checks import check_int

__all__ = ["RecurrentCell", "check_rate"]


def check_rate(value, what: str) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"{what} must be in [0, 1) (the fraction of units dropped). Received: {what}={value}"
        )
    return value


def keras_to_torch(value: torch.Tensor, units: int, order) -> torch.Tensor:
    """Keras layout (..., k*units) with Keras gate order -> torch layout (k*units, ...) in torch order."""
    blocks = value.split(units, dim=-1)
    reordered = torch.cat([blocks[i] for i in order], dim=-1)
    return reordered.t() if reordered.dim() == 2 else reordered


def torch_to_keras(value: torch.Tensor, units: int, order) -> torch.Tensor:
    """The inverse of ``keras_to_torch``."""
    blocks = value.split(units, dim=0)
    inverse = sorted(range(len(order)), key=lambda i: order[i])
    reordered = torch.cat([blocks[i] for i in inverse], dim=0)
    return reordered.t() if reordered.dim() == 2 else reordered


class RecurrentCell(Layer):
    """Shared by LSTMCell, GRUCell and SimpleRNNCell; ``gates`` is k (4, 3, 1)."""

    def compute_output_shape(self, input_shape):
        size = self.state_size
        return (
            input_shape[0],
            getattr(self, "output_size", None) or (size[0] if isinstance(size, (list, tuple)) else size),
        )

    gates = 1
    torch_order: tuple = (0,)
    constraint_arguments: ClassVar[dict] = {
        "kernel": "kernel_constraint",
        "recurrent_kernel": "recurrent_constraint",
        "bias": "bias_constraint",
    }
    expected_ndim = 2
    input_axes = "(batch, features)"

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int(units, "units", 1, owner=type(self).__name__)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        # Element-wise functions without the logits bookkeeping: they run once per timestep.
        self._act = activations.raw(self.activation)

    # ------------------------------------------------------------------ shape and state
    @property
    def state_size(self) -> list[int]:
        return [self.units]

    @property
    def output_size(self) -> int:
        return self.units

    def get_initial_state(self, batch_size: int, like: torch.Tensor) -> list[torch.Tensor]:
        return [like.new_zeros(batch_size, size) for size in self.state_size]

    # ------------------------------------------------------------------ weights
    def _initial_bias(self) -> torch.Tensor:
        """The input bias in Keras's layout and gate order."""
        return self.bias_initializer((self.gates * self.units,), dtype=self.compute_dtype)

    def _has_recurrent_bias(self) -> bool:
        return False

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' needs the number of features (last input axis); received input shape "
                f"{format_shape(input_shape)}."
            )
        k_units, dtype = self.gates * self.units, self.compute_dtype
        # Initializers see Keras's layout (so fans match Keras); storage is torch's.
        kernel = self.kernel_initializer((input_dim, k_units), dtype=dtype)
        recurrent = self.recurrent_initializer((self.units, k_units), dtype=dtype)
        order = self.torch_order
        self.weight_ih = self._parameter(keras_to_torch(kernel, self.units, order))
        self.weight_hh = self._parameter(keras_to_torch(recurrent, self.units, order))
        self.bias_ih = (
            self._parameter(keras_to_torch(self._initial_bias(), self.units, order))
            if self.use_bias
            else None
        )
        if self.use_bias and self._has_recurrent_bias():
            recurrent_bias = self.bias_initializer((k_units,), dtype=dtype)
            self.bias_hh = self._parameter(keras_to_torch(recurrent_bias, self.units, order))
        else:
            self.bias_hh = None
            # torch's fused kernels take a recurrent bias; where Keras has none it is a frozen zero.
            self.register_buffer("_zero_bias", torch.zeros(k_units, dtype=dtype), persistent=False)

    def _parameter(self, value):
        return torch.nn.Parameter(value.contiguous(), requires_grad=self.trainable)

    def _gate_view(self, name: str, param: torch.Tensor) -> KerasWeight:
        units, order = self.units, self.torch_order

        def read():
            return torch_to_keras(param, units, order)

        def write(value):
            param.copy_(keras_to_torch(value.to(dtype=param.dtype, device=param.device), units, order))

        shape = tuple(param.shape[::-1]) if param.dim() == 2 else tuple(param.shape)
        return KerasWeight(f"{self.name}/{name}", shape, read, write, param.requires_grad)

    def _bias_view(self) -> KerasWeight:
        return self._gate_view("bias", self.bias_ih)

    def keras_weights(self):
        if not self.built:  # as Keras: an unbuilt layer has no weights yet
            return []
        weights = [
            self._gate_view("kernel", self.weight_ih),
            self._gate_view("recurrent_kernel", self.weight_hh),
        ]
        if self.use_bias:
            weights.append(self._bias_view())
        return weights

    def regularization_losses(self):
        return self._penalties(
            (self.kernel_regularizer, self.weight_ih),
            (self.recurrent_regularizer, self.weight_hh),
            (self.bias_regularizer, self.bias_ih),
            (self.bias_regularizer, self.bias_hh),
        )

    # ------------------------------------------------------------------ computing
    @property
    def fused_mode(self) -> str | None:
        """The torch fused kernel that computes exactly this cell, or None."""
        return None

    def fused_weights(self) -> list[torch.Tensor]:
        if not self.use_bias:
            return [self.weight_ih, self.weight_hh]
        return [
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh if self.bias_hh is not None else self._zero_bias,
        ]

    def project_inputs(self, inputs: torch.Tensor, gate_masks=None) -> torch.Tensor:
        """The input half of every gate for all timesteps at once: (..., features) -> (..., k*units).

        ``gate_masks`` (k, batch, features): a separate input dropout mask per gate (torch gate order).
        """
        if gate_masks is None:
            return F.linear(inputs, self.weight_ih, self.bias_ih)
        per_gate = zip(
            gate_masks,
            self.weight_ih.split(self.units, 0),
            self.bias_ih.split(self.units) if self.bias_ih is not None else [None] * self.gates,
        )
        mask_axes = (slice(None),) + (None,) * (inputs.dim() - 2)
        return torch.cat([F.linear(inputs * mask[mask_axes], w, b) for mask, w, b in per_gate], dim=-1)

    def recurrent_projection(
        self, h: torch.Tensor, gate_masks=None, rows: slice | None = None
    ) -> torch.Tensor:
        """``h`` times the recurrent kernel (the rows of ``rows`` only), with per-gate dropout masks."""
        weight = self.weight_hh if rows is None else self.weight_hh[rows]
        if gate_masks is None:
            return h @ weight.t()
        blocks = weight.split(self.units, 0)
        first = 0 if rows is None else rows.start // self.units
        masks = gate_masks[first : first + len(blocks)]
        return torch.cat([(h * m) @ w.t() for m, w in zip(masks, blocks)], dim=-1)

    def step(self, projected: torch.Tensor, states: list[torch.Tensor], recurrent_masks=None):
        """One timestep from the projected input (batch, k*units): returns (output, new_states)."""
        raise NotImplementedError

    def call(self, inputs, states):
        if not isinstance(states, (list, tuple)):
            states = [states]
        return self.step(self.project_inputs(inputs), list(states))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
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
