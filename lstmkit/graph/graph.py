"""Graph: the calls (nodes) that lead from some symbolic input tensors to some output tensors, and running them.

Reading the graph follows Keras: a depth-first walk back from each output collects the nodes (stopping at
the given inputs) in an order that can run them; a layer's depth is the longest path from it to an output,
and layers are listed from the deepest (the inputs) to depth 0, ties in the order the walk met them. That
order is ``model.layers``, the order of ``get_weights`` and of Keras's files.

Running is a plan made once: every tensor of the graph gets a slot number, and each node knows which slots
its arguments read and which its outputs fill. A call then costs one list lookup per argument plus the layer
calls themselves — nothing per batch beyond what a hand-written forward would do.
"""

from __future__ import annotations

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.graph.node import output_shape_of
from lstmkit.utils import tree

__all__ = ["Graph", "GraphError"]


class GraphError(ValueError):
    """Inputs and outputs that do not make a graph model (an output that needs an input not given, ...)."""


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _fill(template, values):
    if isinstance(template, _Slot):
        return values[template.index]
    if isinstance(template, (list, tuple)):
        return type(template)(_fill(item, values) for item in template)
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    return template


class _Step:
    """One node, ready to run: ``layer(*args, **kwargs)`` read from slots, outputs written to slots."""

    __slots__ = ("args", "fast", "kwargs", "layer", "node", "outputs", "single")

    def __init__(self, node, slot_of):
        def template(value):
            return _Slot(slot_of[id(value)]) if isinstance(value, KerasTensor) else value

        self.node, self.layer = node, node.layer
        self.args = tree.map_structure(template, list(node.args))
        self.kwargs = tree.map_structure(template, node.kwargs)
        # The common case — one tensor in, keyword arguments without tensors — skips the structure walk.
        self.fast = (
            len(self.args) == 1
            and isinstance(self.args[0], _Slot)
            and not any(isinstance(t, KerasTensor) for t in tree.flatten(node.kwargs))
        )
        self.outputs = [slot_of[id(t)] for t in node.output_tensors]
        self.single = isinstance(node.outputs, KerasTensor)

    def run(self, values: list) -> None:
        if self.fast:
            result = self.layer(values[self.args[0].index], **self.kwargs)
        else:
            result = self.layer(*_fill(self.args, values), **_fill(self.kwargs, values))
        if self.single:
            values[self.outputs[0]] = result
            return
        flat = tree.flatten(result)
        if len(flat) != len(self.outputs):
            raise ValueError(
                f"Layer '{self.layer.name}' returned {len(flat)} tensor(s) where the model was built with "
                f"{len(self.outputs)}; its outputs must not change number between calls."
            )
        for slot, value in zip(self.outputs, flat):
            values[slot] = value


class Graph:
    """The part of the graph between ``inputs`` and ``outputs`` (flat lists of KerasTensors)."""

    def __init__(self, inputs: list, outputs: list):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.nodes, self.layers = self._walk()
        self.node_set = set(self.nodes)
        self._plan()

    # ---------------------------------------------------------------- reading the graph
    def _walk(self):
        given = {id(t) for t in self.inputs}
        finished, in_progress, ordered, first_seen = set(), set(), [], {}
        missing: list = []

        def visit(tensor):
            layer, node_index, _ = tensor._keras_history
            node = layer._inbound_nodes[node_index]
            if node in finished:
                return
            if id(tensor) in given and not node.is_input:
                finished.add(node)  # an intermediate tensor given as an input: the walk stops here
                return
            if node in in_progress:
                raise GraphError(f"The tensor {tensor.name} from layer '{layer.name}' is part of a cycle.")
            first_seen.setdefault(layer, len(first_seen))
            in_progress.add(node)
            if node.is_input and id(tensor) not in given:
                missing.append(tensor)
            for parent in node.input_tensors:
                visit(parent)
            finished.add(node)
            in_progress.discard(node)
            ordered.append(node)

        for output in self.outputs:
            visit(output)
        if missing:
            self._disconnected(missing)

        depth_of_node, depth_of_layer = {}, {}
        members = set(ordered)
        for node in reversed(ordered):
            depth = max(depth_of_node.setdefault(node, 0), depth_of_layer.get(node.layer, 0))
            depth_of_layer[node.layer] = depth_of_node[node] = depth
            for parent in node.parent_nodes:
                if parent in members:
                    depth_of_node[parent] = max(depth + 1, depth_of_node.get(parent, 0))
        for tensor in self.inputs:  # inputs that no output needs still belong to the model
            layer = tensor._keras_history.layer
            node = layer._inbound_nodes[tensor._keras_history.node_index]
            if layer not in depth_of_layer and node.is_input:
                depth_of_layer[layer], first_seen[layer] = 0, -1
        layers = sorted(depth_of_layer, key=lambda layer: (-depth_of_layer[layer], first_seen[layer]))
        names = [layer.name for layer in layers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise GraphError(
                f"The layer name(s) {duplicated} are used by more than one layer in this model; names identify "
                "layers in get_layer() and in saved files. Give each layer its own name=... (or leave name out)."
            )
        running = [node for node in ordered if not (node.is_input or id(node.output_tensors[0]) in given)]
        return running, layers

    def _disconnected(self, missing) -> None:
        names = ", ".join(f"'{t.name}' (shape {t.shape})" for t in dict.fromkeys(missing))
        given = ", ".join(f"'{t.name}'" for t in self.inputs) or "none"
        raise GraphError(
            f"Graph disconnected: the outputs need the input(s) {names}, which are not among the model's inputs "
            f"[{given}]. Add them to inputs, e.g. keras.Model(inputs=[...all of them...], outputs=...)."
        )

    def _plan(self) -> None:
        slot_of = {}
        for tensor in self.inputs:
            slot_of.setdefault(id(tensor), len(slot_of))
        for node in self.nodes:
            for tensor in node.output_tensors:
                slot_of.setdefault(id(tensor), len(slot_of))
        self._size = len(slot_of)
        self._input_slots = [slot_of[id(t)] for t in self.inputs]
        self._output_slots = [slot_of[id(t)] for t in self.outputs]
        self._steps = [_Step(node, slot_of) for node in self.nodes]

    def own_call_index(self, layer, node_index: int) -> int:
        """The index of ``layer``'s call ``node_index`` among its calls that belong to this graph (input
        layers' nodes count; a layer shared with another model has calls outside it), as saved configs and
        summaries number them."""
        return sum(1 for node in layer._inbound_nodes[:node_index] if node in self.node_set or node.is_input)

    # ---------------------------------------------------------------- running
    def run(self, values: list) -> list:
        """The output tensors (flat) for input tensors ``values`` (flat, in ``inputs`` order)."""
        slots = [None] * self._size
        for slot, value in zip(self._input_slots, values):
            slots[slot] = value
        for step in self._steps:
            step.run(slots)
        return [slots[i] for i in self._output_slots]

    def output_shapes(self, input_shapes: list) -> list:
        """The output shapes (flat) for inputs of ``input_shapes``, by each layer's compute_output_shape."""
        slots = [None] * self._size
        for slot, shape in zip(self._input_slots, input_shapes):
            slots[slot] = tuple(shape)
        for step in self._steps:
            shape = output_shape_of(step.layer, _fill(step.args, slots), _fill(step.kwargs, slots))
            flat = [shape] if step.single else list(shape)
            for slot, value in zip(step.outputs, flat):
                slots[slot] = tuple(value)
        return [slots[i] for i in self._output_slots]
