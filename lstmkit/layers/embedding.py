"""Embedding: turns integer token ids into dense vectors (a lookup in a trainable table).

Keras 2's ``input_length`` is honoured as the declared input shape ``(None, input_length)`` (Keras 3
dropped it with a warning; Keras 2 tutorials rely on it to build the model before fitting), and so is
``weights=[matrix]`` for pre-trained vectors (e.g. GloVe), usually with ``trainable=False``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from lstmkit import constraints, initializers, regularizers
from lstmkit.layers.base import InputShapeError, Layer
from lstmkit.layers.conv import positive_int

__all__ = ["Embedding", "check_token_ids"]

# Keras's short initializer names that lstmkit.initializers does not list.
_INITIALIZER_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}


class Embedding(Layer):
    """Maps each id in ``0 .. input_dim - 1`` to row ``id`` of ``embeddings``.

    Input ``(batch, ...)`` of integer ids, usually ``(batch, sequence_length)``; output
    ``(batch, ..., output_dim)``. Weight (Keras layout): ``embeddings (input_dim, output_dim)``.
    With ``mask_zero=True`` id 0 is padding: the layer emits the mask ``inputs != 0`` so that the layers
    after it (LSTM, GlobalAveragePooling1D, the loss) skip those steps; ids then start at 1, so
    ``input_dim`` must be the vocabulary size + 1.
    """

    min_ndim = 1
    input_axes = "(batch, sequence_length) of integer ids"
    input_dtype = "int"

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        input_length=None,
        **kwargs,
    ):
        if input_length is not None:
            input_length = positive_int(input_length, "input_length", "Embedding")
            declared = kwargs.get("input_shape")
            if declared is not None and tuple(np.atleast_1d(declared)) != (input_length,):
                raise ValueError(
                    f"Embedding: input_length={input_length} disagrees with input_shape={declared!r}. Give one of "
                    f"them: input_length={input_length} means input_shape=({input_length},)."
                )
            if declared is None and kwargs.get("batch_input_shape") is None:
                kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        if isinstance(embeddings_initializer, str):
            embeddings_initializer = _INITIALIZER_ALIASES.get(embeddings_initializer, embeddings_initializer)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self._ids_checked_on_device = False
        if weights is not None:
            # Made now, so that get_weights() works before the model is built; build() keeps them.
            self._make_embeddings()
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    constraint_arguments: ClassVar[dict] = {"embeddings": "embeddings_constraint"}

    # ------------------------------------------------------------------ weights and shapes
    def _make_embeddings(self):
        self.embeddings = self._new_weight((self.input_dim, self.output_dim), self.embeddings_initializer)

    def build(self, input_shape):
        if getattr(self, "embeddings", None) is None:
            self._make_embeddings()

    def check_input_shape(self, input_shape):
        # The last axis is the sequence length, which may vary between calls: only the rank is checked.
        if len(input_shape) < 1:
            raise InputShapeError(
                f"Layer '{self.name}' (Embedding) needs an input with a batch axis.", self, input_shape, 1
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return torch.as_tensor(inputs) != 0

    def regularization_losses(self):
        return self._penalties((self.embeddings_regularizer, getattr(self, "embeddings", None)))

    # ------------------------------------------------------------------ computing
    def _as_tensors(self, inputs):
        # Ids stay integers: the base class would turn a NumPy array or list into floats.
        return inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))

    def check_ids(self, ids: torch.Tensor) -> None:
        """Raise a ValueError naming the offending id if any id is outside ``0 .. input_dim - 1``."""
        if ids.numel() == 0:
            return
        low, high = (int(v) for v in torch.aminmax(ids))
        if 0 <= low and high < self.input_dim:
            return
        bad = high if high >= self.input_dim else low
        where = tuple(int(i) for i in (ids == bad).nonzero()[0].tolist())
        if bad < 0:
            raise ValueError(
                f"Layer '{self.name}' (Embedding) received the negative token id {bad} (at index {where} of its "
                f"input); ids must be between 0 and input_dim - 1 = {self.input_dim - 1}."
            )
        raise ValueError(
            f"Layer '{self.name}' (Embedding) received token id {bad} (at index {where} of its input), but with "
            f"input_dim={self.input_dim} the valid ids are 0 to {self.input_dim - 1}. input_dim must be greater "
            f"than the largest id: use Embedding(input_dim={bad + 1}, ...) or more (with a Keras Tokenizer: "
            "len(tokenizer.word_index) + 1)."
        )

    def call(self, inputs):
        ids = inputs if not inputs.is_floating_point() else inputs.to(torch.int64)  # Keras casts too
        # Out-of-range ids must give a clear error, not an index crash. Finding the extreme ids is one
        # reduction over the batch. On the CPU that is cheap, so every call is checked. On a GPU, reading
        # the result makes the host wait for the device on every batch, which would stall the pipeline of
        # queued kernels; there only the first call is checked (a wrong input_dim usually shows at once),
        # and fit/evaluate/predict are expected to check the whole dataset on the CPU before moving it.
        if ids.device.type == "cpu" or not self._ids_checked_on_device:
            self.check_ids(ids)
            self._ids_checked_on_device = ids.device.type != "cpu"
        return F.embedding(ids, self.embeddings)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }


def check_token_ids(layer: Layer, ids: torch.Tensor) -> None:
    """Check a whole dataset of ids once, before it moves to a GPU, if ``layer`` is (or wraps) an Embedding.

    For the data loops: ``check_token_ids(model.layers[0], x)`` on the CPU tensor costs one pass over x and
    no per-batch device synchronisation; ``Embedding.call`` then checks only its first batch on a GPU.
    """
    while not isinstance(layer, Embedding) and isinstance(getattr(layer, "layer", None), Layer):
        layer = layer.layer  # TimeDistributed(Embedding(...))
    if isinstance(layer, Embedding):
        layer.check_ids(torch.as_tensor(ids))
