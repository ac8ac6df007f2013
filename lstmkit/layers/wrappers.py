"""TimeDistributed: applies one layer, with one set of weights, to every timestep of a sequence.

``Bidirectional`` lives with the recurrent layers (``lstmkit.layers.rnn``); it is also importable from
here, Keras 2's path (``from keras.layers.wrappers import Bidirectional, TimeDistributed``).
"""

from __future__ import annotations

import torch

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.normalization import BatchNormalization
from lstmkit.layers.serialization import deserialize, serialize

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """Applies ``layer`` to each timestep: input ``(batch, timesteps, *inner)`` -> output
    ``(batch, timesteps, *layer_output)``, where ``layer`` maps ``(batch, *inner)`` to ``(batch, *layer_output)``.

    ``TimeDistributed(Dense(1))`` on ``(batch, timesteps, features)`` gives ``(batch, timesteps, 1)``; in a
    CNN-LSTM, ``TimeDistributed(Conv1D(...))`` on ``(batch, subsequences, steps, channels)`` convolves
    each subsequence. The weights are the inner layer's; a mask ``(batch, timesteps)`` passes through.
    """

    min_ndim = 3
    input_axes = "(batch, timesteps, ...)"
    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            hint = ""
            if isinstance(layer, type) and issubclass(layer, Layer):
                hint = f" Received the class itself: call it, e.g. TimeDistributed({layer.__name__}(...))."
            raise TypeError(
                f"TimeDistributed needs a layer instance, e.g. TimeDistributed(Dense(1)). Received: {layer!r}.{hint}"
            )
        super().__init__(**kwargs)
        self.layer = layer
        if not self.trainable:
            self.layer.trainable = False

    @property
    def input_dtype(self) -> str:
        return self.layer.input_dtype

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def _inner_shape(input_shape) -> tuple:
        return (input_shape[0],) + tuple(input_shape[2:])

    def _explain(self, err: InputShapeError, input_shape) -> InputShapeError:
        inner = self._inner_shape(input_shape)
        return InputShapeError(
            f"{err} (TimeDistributed '{self.name}' gives '{self.layer.name}' one timestep at a time: its input of "
            f"shape {format_shape(input_shape)} becomes {format_shape(inner)} per timestep.)",
            self,
            input_shape,
            None if err.expected_ndim is None else err.expected_ndim + 1,
        )

    def check_input_shape(self, input_shape):
        if len(input_shape) < 3:
            raise InputShapeError(
                f"Layer '{self.name}' (TimeDistributed) expects input with at least 3 dimensions (batch, timesteps, "
                f"...); received a {len(input_shape)}-D input of shape {format_shape(input_shape)}.",
                self,
                input_shape,
                3,
            )
        try:
            self.layer.check_input_shape(self._inner_shape(input_shape))
        except InputShapeError as err:
            raise self._explain(err, input_shape) from None

    def build(self, input_shape):
        try:
            self.layer.ensure_built(self._inner_shape(input_shape))
        except InputShapeError as err:
            raise self._explain(err, input_shape) from None

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        if isinstance(inner, list):
            raise ValueError(  # noqa: TRY004 - a model-structure error, as Keras reports it
                f"TimeDistributed '{self.name}': the wrapped layer '{self.layer.name}' returns several tensors, which "
                "TimeDistributed cannot stack. Remove return_state=True from it."
            )
        return (inner[0], input_shape[1]) + tuple(inner[1:])

    def hint_for_next_layer(self, error):
        return self.layer.hint_for_next_layer(error)

    # ------------------------------------------------------------------ computing
    def call(self, inputs, mask=None, training=False):
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {}
        if self.layer._call_takes("training"):
            kwargs["training"] = training
        inner_mask = None
        if mask is not None and mask.dim() == inputs.dim() - 1 and self.layer._call_takes("mask"):
            # Keras hands the layer mask[:, t] with each timestep; folded, that is one mask row per
            # (sample, timestep). A (batch, timesteps) mask thus reaches e.g. BatchNormalization as a per-sample
            # mask, and a (batch, timesteps, steps) mask reaches an inner recurrent layer as its step mask.
            inner_mask = mask.reshape((batch * steps,) + tuple(mask.shape[2:]))
        if isinstance(self.layer, BatchNormalization) and training and self.layer.trainable:
            # Keras runs the layer once per timestep: in training, BatchNormalization then normalizes each
            # timestep with its own batch statistics and updates its moving statistics once per timestep.
            outputs = []
            for t in range(steps):
                step_mask = None if inner_mask is None else mask[:, t]
                outputs.append(self.layer(inputs[:, t], mask=step_mask, **kwargs))
            return torch.stack(outputs, dim=1)
        # Every other layer treats samples independently, so folding timesteps into the batch axis computes
        # the same thing in one call.
        folded = inputs.reshape((batch * steps,) + tuple(inputs.shape[2:]))
        outputs = self.layer(folded, mask=inner_mask, **kwargs)
        return outputs.reshape((batch, steps) + tuple(outputs.shape[1:]))

    # ------------------------------------------------------------------ weights and config
    def keras_weights(self):
        return self.layer.keras_weights()

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


def __getattr__(name):
    # Keras 2's `from keras.layers.wrappers import Bidirectional`. Imported lazily: the recurrent
    # package may itself import from this module.
    if name == "Bidirectional":
        from lstmkit.layers import rnn

        if hasattr(rnn, "Bidirectional"):
            return rnn.Bidirectional
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
