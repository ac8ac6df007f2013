"""A layer's calls on symbolic tensors, as Keras shows them: ``layer.input``/``output`` (of its first call),
``get_input_at``/``get_output_at(i)`` (of call ``i``), and ``input_shape``/``output_shape`` (from those
calls, else from the built or declared shape). The calls themselves are recorded by graph/node.py in
``layer._inbound_nodes``.
"""

from __future__ import annotations

from lstmkit.utils import tree

__all__ = ["LayerNodes"]


class LayerNodes:
    """Mixin of Layer; reads ``_inbound_nodes``, ``built_input_shape``, ``input_shape_declared``."""

    def _node(self, index: int, what: str):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has not been called on symbolic inputs (keras.Input), so it has no {what}."
            )
        if not 0 <= index < len(self._inbound_nodes):
            raise ValueError(
                f"Layer '{self.name}' was called {len(self._inbound_nodes)} time(s); asked for call #{index}."
            )
        return self._inbound_nodes[index]

    @property
    def input(self):
        """The symbolic input(s) of this layer's first call on symbolic tensors."""
        return self.get_input_at(0)

    @property
    def output(self):
        """The symbolic output(s) of this layer's first call on symbolic tensors."""
        return self.get_output_at(0)

    def get_input_at(self, node_index: int):
        node = self._node(node_index, "input")
        return node.args[0] if node.args else node.outputs

    def get_output_at(self, node_index: int):
        return self._node(node_index, "output").outputs

    @property
    def input_shape(self):
        if self._inbound_nodes:
            return tree.map_structure(lambda t: t.shape, self.input)
        if self.built_input_shape is not None:
            return self.built_input_shape
        if self.input_shape_declared is not None:
            return self.input_shape_declared
        raise AttributeError(f"Layer '{self.name}' has not been built yet, so it has no input_shape.")

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return tree.map_structure(lambda t: t.shape, self.output)
        return self.compute_output_shape(self.input_shape)
