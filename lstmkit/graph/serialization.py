"""A graph model as JSON-ready data, and back — Keras 3's functional layout, so Keras's files read the same.

``{"layers": [{"class_name", "config", "name", "inbound_nodes": [{"args": [...], "kwargs": {...}}]}],
"input_layers": [[name, node_index, tensor_index], ...], "output_layers": [...]}``: every layer once (a
shared layer lists one node per call), each call's arguments with symbolic tensors written as
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [layer, node, tensor]}}``.
Node indices count only the calls that belong to this model (a layer shared with another model may have
more). Reading also accepts Keras 2's ``inbound_nodes: [[[layer, node, tensor, {kwargs}], ...]]``.

Rebuilding replays the calls: every layer is made from its config, then the calls run in the order of the
layers list, a call waiting while a tensor it needs has not been produced yet (Keras's algorithm).
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.utils import tree

__all__ = ["graph_config", "graph_from_config"]

_TENSOR = "__keras_tensor__"
_MAX_CONSTANT = 65536  # a constant tensor in a layer call (e.g. ops.ones((4, 1))) is stored up to this size


def _constant(config) -> torch.Tensor:
    dtype = str(config.get("dtype", "float32"))
    if dtype not in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"):
        raise ValueError(f"A constant in the graph model config has an unsupported dtype {dtype!r}.")
    array = np.asarray(config.get("value"), dtype=dtype)
    if array.size > _MAX_CONSTANT:
        raise ValueError(f"A constant in the graph model config is larger than {_MAX_CONSTANT} values.")
    return torch.from_numpy(array)


def graph_config(model) -> dict:
    """The ``layers``/``input_layers``/``output_layers`` entries of a graph model's config."""
    from lstmkit.layers.input_layer import InputLayer
    from lstmkit.layers.serialization import serialize

    graph = model.graph
    for tensor in graph.inputs:
        if not isinstance(tensor._keras_history.layer, InputLayer):
            raise ValueError(  # noqa: TRY004 - a model file's content, reported as the loaders report it
                f"Model '{model.name}' takes the intermediate tensor {tensor.name} as an input, which cannot be "
                "saved. Build the model from keras.Input(...) tensors to save it."
            )

    def tensor_entry(tensor):
        layer, node_index, tensor_index = tensor._keras_history
        return [layer.name, graph.own_call_index(layer, node_index), tensor_index]

    def argument(value, layer):
        if isinstance(value, KerasTensor):
            return {
                "class_name": _TENSOR,
                "config": {
                    "shape": list(value.shape),
                    "dtype": value.dtype,
                    "keras_history": tensor_entry(value),
                },
            }
        if isinstance(value, tuple):  # e.g. an index x[:, -1] or an axis tuple: kept a tuple
            return {"class_name": "__tuple__", "config": {"value": [argument(v, layer) for v in value]}}
        if isinstance(value, list):
            return [argument(v, layer) for v in value]
        if isinstance(value, dict):
            return {str(k): argument(v, layer) for k, v in value.items()}
        if isinstance(value, slice):
            return {
                "class_name": "__slice__",
                "config": {"start": value.start, "stop": value.stop, "step": value.step},
            }
        if value is Ellipsis:
            return {"class_name": "__ellipsis__", "config": {}}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        count = (
            value.numel()
            if isinstance(value, torch.Tensor)
            else np.size(value)
            if isinstance(value, np.ndarray)
            else None
        )
        if count is not None and count <= _MAX_CONSTANT:
            array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            return {
                "class_name": "__tensor__",
                "config": {"value": array.tolist(), "dtype": str(array.dtype)},
            }
        raise ValueError(
            f"Layer '{layer.name}' was called with {type(value).__name__} {value!r:.60}, which cannot be saved in a "
            "model file. Pass symbolic tensors, plain values (numbers, strings, lists) and small constant arrays "
            "to layer calls."
        )

    layers = []
    for layer in graph.layers:
        nodes = [node for node in layer._inbound_nodes if node in graph.node_set]
        entry = serialize(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": argument(list(node.args), layer), "kwargs": argument(node.kwargs, layer)}
            for node in nodes
        ]
        layers.append(entry)

    def structure(value):
        if isinstance(value, KerasTensor):
            return [tensor_entry(value)]
        return tree.map_structure(tensor_entry, value)

    return {
        "layers": layers,
        "input_layers": structure(model._input_structure),
        "output_layers": structure(model._output_structure),
    }


class _NotReady(Exception):
    """A call needs a tensor whose producing call has not been replayed yet."""


def graph_from_config(config: dict, custom_objects=None):
    """(inputs, outputs) structures of symbolic tensors, with every layer made and every call replayed."""
    from lstmkit.layers.serialization import deserialize

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(  # noqa: TRY004 - a file's content, reported as the loaders report it
            "A graph model config needs a 'layers' list (and 'input_layers'/'output_layers')."
        )
    made: dict = {}
    pending: dict = {}
    for entry in config["layers"]:
        if not isinstance(entry, dict) or "class_name" not in entry:
            raise ValueError(f"A layer entry of a graph model config is malformed: {entry!r:.200}")
        layer_config = dict(entry.get("config") or {})
        name = entry.get("name", layer_config.get("name"))
        if name in made:
            raise ValueError(f"The graph model config lists the layer name {name!r} twice.")
        layer_config.setdefault("name", name)
        layer = deserialize({"class_name": entry["class_name"], "config": layer_config}, custom_objects)
        made[name] = layer
        pending[name] = [_normalize_node(node, layer) for node in entry.get("inbound_nodes") or []]

    def tensor(layer_name, node_index, tensor_index):
        if layer_name not in made:
            raise ValueError(f"The graph model config refers to an unknown layer {layer_name!r}.")
        nodes = made[layer_name]._inbound_nodes
        if node_index >= len(nodes):
            raise _NotReady
        outputs = nodes[node_index].output_tensors
        if tensor_index >= len(outputs):
            raise ValueError(f"Layer {layer_name!r} has no output #{tensor_index} (it has {len(outputs)}).")
        return outputs[tensor_index]

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            return tensor(*value["config"]["keras_history"])
        if isinstance(value, dict) and value.get("class_name") == "__tuple__":
            return tuple(resolve(v) for v in value["config"]["value"])
        if isinstance(value, dict) and value.get("class_name") == "__slice__":
            config = value["config"]
            return slice(config.get("start"), config.get("stop"), config.get("step"))
        if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
            return Ellipsis
        if isinstance(value, dict) and value.get("class_name") == "__tensor__":
            return _constant(value["config"])
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    progress = True
    while any(pending.values()) and progress:
        progress = False
        for entry in config["layers"]:
            name = entry.get("name", (entry.get("config") or {}).get("name"))
            queue = pending[name]
            while queue:
                node = queue[0]
                try:
                    args, kwargs = resolve(node["args"]), resolve(node["kwargs"])
                except _NotReady:
                    break
                made[name](*args, **kwargs)
                queue.pop(0)
                progress = True
    if any(pending.values()):
        stuck = sorted(name for name, queue in pending.items() if queue)
        raise ValueError(
            f"The graph model config cannot be rebuilt: the calls of {stuck} need tensors no call makes."
        )

    def structure(value):
        if (
            isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and isinstance(value[1], int)
        ):
            return tensor(*value)
        if isinstance(value, dict):
            return {k: structure(v) for k, v in value.items()}
        if isinstance(value, list):
            return [structure(v) for v in value]
        raise ValueError(
            f"The graph model config has a malformed input_layers/output_layers entry: {value!r:.120}"
        )

    inputs, outputs = structure(config.get("input_layers")), structure(config.get("output_layers"))
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]
    return inputs, outputs


def _normalize_node(node, layer) -> dict:
    """A node in Keras 3's form ``{"args": [...], "kwargs": {...}}`` (Keras 2's list form converted)."""
    if isinstance(node, dict):
        return {"args": list(node.get("args") or []), "kwargs": dict(node.get("kwargs") or {})}
    if not isinstance(node, list) or not all(isinstance(t, list) and len(t) >= 3 for t in node):
        raise ValueError(
            f"Layer '{layer.name}': a malformed inbound node in the graph model config: {node!r:.200}"
        )
    tensors = [
        {"class_name": _TENSOR, "config": {"keras_history": [t[0], int(t[1]), int(t[2])]}} for t in node
    ]
    kwargs = dict(node[0][3]) if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    if len(tensors) == 1:
        return {"args": [tensors[0]], "kwargs": kwargs}
    if (
        hasattr(layer, "return_state")
        and hasattr(layer, "go_backwards")
        or type(layer).__name__ == "Bidirectional"
    ):
        # Keras 2 wrote an RNN's initial states as extra inbound tensors after its input.
        return {"args": [tensors[0]], "kwargs": {**kwargs, "initial_state": tensors[1:]}}
    return {"args": [tensors], "kwargs": kwargs}
