"""Bidirectional: a recurrent layer run forwards and a copy run backwards, outputs merged.

Input ``(batch, timesteps, features)``. With ``merge_mode='concat'`` (default) the output's last axis
is twice the layer's units; 'sum', 'mul', 'ave' keep it; ``None`` returns ``[forward, backward]``.
With ``return_sequences=True`` the backward outputs are flipped back into input order before merging.
With ``return_state=True`` the result is ``[output, *forward_states, *backward_states]``.
Weights: the forward layer's, then the backward layer's.
"""

from __future__ import annotations

import torch

from lstmkit.layers.base import Layer
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.serialization import deserialize, serialize

__all__ = ["Bidirectional"]

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    expected_ndim = 3
    input_axes = "(batch, timesteps, features)"
    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise TypeError(
                "Bidirectional wraps a recurrent layer such as LSTM(10) or GRU(10). "
                f"Received: {layer!r} (type {type(layer).__name__})."
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {_MERGE_MODES}. Received: merge_mode={merge_mode!r}")
        if layer.input_shape_declared is not None and not any(
            k in kwargs for k in ("input_shape", "batch_input_shape", "input_dim")
        ):
            kwargs["batch_input_shape"] = layer.input_shape_declared  # LSTM(..., input_shape=...) inside
        super().__init__(**kwargs)
        # The wrapped layer's input rank: 3 for LSTM/GRU, 5 for ConvLSTM2D (outputs merge on the last axis).
        self.expected_ndim, self.input_axes = layer.expected_ndim, layer.input_axes
        self.merge_mode = merge_mode
        self._user_backward = backward_layer is not None
        if backward_layer is None:
            config = layer.get_config()
            config.update(name=f"backward_{layer.name}", go_backwards=not layer.go_backwards)
            config.pop("batch_input_shape", None)
            backward_layer = type(layer).from_config(config)
        elif not isinstance(backward_layer, RNN):
            raise TypeError(f"backward_layer must be a recurrent layer. Received: {backward_layer!r}")
        elif backward_layer.go_backwards == layer.go_backwards:
            raise ValueError(
                "backward_layer must run in the opposite direction: set go_backwards="
                f"{not layer.go_backwards} on it (the forward layer has go_backwards={layer.go_backwards})."
            )
        for attribute in ("return_sequences", "return_state", "stateful"):
            if getattr(backward_layer, attribute) != getattr(layer, attribute):
                raise ValueError(
                    f"The forward and backward layers must agree on {attribute}: forward has "
                    f"{getattr(layer, attribute)}, backward has {getattr(backward_layer, attribute)}."
                )
        # As Keras does: returned sequences hold zeros at masked timesteps, so the two directions line up.
        for direction in (layer, backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self._initial_weights = weights

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        return self.forward_layer.return_state

    @property
    def stateful(self) -> bool:
        return self.forward_layer.stateful

    @property
    def stateful_batch_size(self):
        return self.forward_layer.stateful_batch_size

    def execution_path(self) -> str:
        return self.forward_layer.execution_path()

    def reset_states(self, states=None):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def build(self, input_shape):
        self.forward_layer.ensure_built(input_shape)
        self.backward_layer.ensure_built(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _merge_shape(self, shape):
        if self.merge_mode == "concat":
            return tuple(shape[:-1]) + (shape[-1] * 2,)
        return tuple(shape)

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.return_state:
            output, states = shape[0], shape[1:]
            merged = [output, output] if self.merge_mode is None else [self._merge_shape(output)]
            return merged + list(states) * 2
        return [shape, shape] if self.merge_mode is None else self._merge_shape(shape)

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences:
            return None
        return [mask, mask] if self.merge_mode is None else mask

    def hint_for_next_layer(self, error):
        return self.forward_layer.hint_for_next_layer(error).replace(
            f"'{self.forward_layer.name}'", f"the LSTM inside '{self.name}'"
        )

    def call(self, inputs, mask=None, initial_state=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        forward = self.forward_layer(inputs, mask=mask, initial_state=forward_state)
        backward = self.backward_layer(inputs, mask=mask, initial_state=backward_state)
        states = []
        if self.return_state:
            forward, states = forward[0], list(forward[1:])
            backward, states = backward[0], states + list(backward[1:])
        if self.return_sequences:
            backward = backward.flip(1)  # back into input order
        if self.merge_mode == "concat":
            output = [torch.cat([forward, backward], dim=-1)]
        elif self.merge_mode == "sum":
            output = [forward + backward]
        elif self.merge_mode == "mul":
            output = [forward * backward]
        elif self.merge_mode == "ave":
            output = [(forward + backward) / 2.0]
        else:
            output = [forward, backward]
        if self.return_state:
            return output + states
        return output[0] if self.merge_mode is not None else output

    def keras_weights(self):
        return self.forward_layer.keras_weights() + self.backward_layer.keras_weights()

    def get_config(self):
        config = {
            **super().get_config(),
            "layer": serialize(self.forward_layer),
            "merge_mode": self.merge_mode,
        }
        if self._user_backward:
            config["backward_layer"] = serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
