"""StackedRNNCells: several cells run one after another within each timestep (``RNN([cell1, cell2])``)."""

from __future__ import annotations

from lstmkit.layers.base import Layer
from lstmkit.layers.serialization import deserialize, serialize

__all__ = ["StackedRNNCells"]


def _sizes(cell) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class StackedRNNCells(Layer):
    """Input ``(batch, features)``; states: every cell's states, in order; output: the last cell's output."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size)

    expected_ndim = 2

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell.")
        for cell in cells:
            if not hasattr(cell, "state_size"):
                raise TypeError(f"Every cell needs a `state_size`. Received: {cell!r}")
        for index, cell in enumerate(
            cells
        ):  # registered first: the plain list below is then not tracked again
            self.add_module(f"cell_{index}", cell)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [n for cell in self.cells for n in _sizes(cell)]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last)[0]

    def build(self, input_shape):
        features = input_shape[-1]
        for cell in self.cells:
            if hasattr(cell, "ensure_built"):
                cell.ensure_built((input_shape[0], features))
            features = getattr(cell, "output_size", None) or _sizes(cell)[0]

    def call(self, inputs, states):
        new_states, start = [], 0
        for cell in self.cells:
            count = len(_sizes(cell))
            inputs, cell_states = cell(inputs, list(states[start : start + count]))
            new_states.extend(cell_states if isinstance(cell_states, (list, tuple)) else [cell_states])
            start += count
        return inputs, new_states

    def keras_weights(self):
        return [w for cell in self.cells for w in cell.keras_weights()]

    def get_config(self):
        return {**super().get_config(), "cells": [serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)
