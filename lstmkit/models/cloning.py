"""``clone_model``: the same architecture with new layers and fresh weights (Keras's ``keras.models.clone_model``).

Sequential and graph models are rebuilt layer by layer — each layer made again from its config, or by
``clone_function(layer)`` — and a graph model's calls are replayed, so a layer shared by two calls stays
shared in the clone. ``input_tensors`` gives a graph model (or a Sequential) new inputs to be built on.
Subclassed models are made again from ``get_config()`` (they need ``from_config``, as in Keras).
"""

from __future__ import annotations

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.layers.input_layer import InputLayer
from lstmkit.layers.serialization import deserialize, serialize
from lstmkit.utils import tree

__all__ = ["clone_model"]


def _fresh(layer):
    return deserialize(serialize(layer))


def clone_model(
    model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs
):
    """A new model like ``model``, with new layers and newly initialized weights (none are shared)."""
    from lstmkit.models.functional import Functional
    from lstmkit.models.model import Model
    from lstmkit.models.sequential import Sequential
    from lstmkit.utils.naming import reject_unknown_kwargs

    reject_unknown_kwargs(
        "clone_model", kwargs, ["input_tensors", "clone_function", "call_function", "recursive"]
    )
    if not isinstance(model, Model):
        raise TypeError(
            f"clone_model needs an lstmkit model. Received: {model!r} (type {type(model).__name__})."
        )
    make = clone_function or _fresh
    if recursive:
        inner = make

        def make(layer):
            return (
                clone_model(layer, clone_function=clone_function)
                if isinstance(layer, Model)
                else inner(layer)
            )

    if isinstance(model, Sequential):
        return _clone_sequential(model, make, input_tensors)
    if isinstance(model, Functional):
        return _clone_graph(model, make, input_tensors, call_function)
    if clone_function is not None or input_tensors is not None:
        raise ValueError(
            f"clone_model(clone_function=..., input_tensors=...) works on Sequential and graph models; '{model.name}' "
            "is a subclassed model, which is cloned from its get_config() alone."
        )
    clone = deserialize(serialize(model))
    config = model.build_config()
    if config is not None:
        clone.build_from_config(config)
    return clone


def _clone_sequential(model, make, input_tensors):
    from lstmkit.models.sequential import Sequential

    layers = [make(layer) for layer in model.layers]
    clone = Sequential(name=model.name)
    shape = model._known_input_shape()
    if input_tensors is not None:
        tensor = tree.flatten(input_tensors)[0]
        clone.add(tensor)
    elif shape is not None:
        clone.declared_input_shape = tuple(shape)
    for layer in layers:
        clone.add(layer)
    return clone


def _clone_graph(model, make, input_tensors, call_function):
    from lstmkit.layers.input_layer import Input
    from lstmkit.models.functional import Functional

    old_inputs = model.graph.inputs
    if input_tensors is None:
        new_inputs = [
            Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history.layer.name) for t in old_inputs
        ]
    else:
        new_inputs = tree.flatten(input_tensors)
        if len(new_inputs) != len(old_inputs):
            raise ValueError(
                f"clone_model: input_tensors has {len(new_inputs)} tensors; the model has {len(old_inputs)}."
            )
    mapped = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    clones: dict = {}

    def new_value(value):
        return mapped[id(value)] if isinstance(value, KerasTensor) else value

    for node in model.graph.nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if layer not in clones:
            clones[layer] = make(layer)
        args = tree.map_structure(new_value, list(node.args))
        kwargs = tree.map_structure(new_value, node.kwargs)
        call = call_function or (lambda layer, *a, **k: layer(*a, **k))
        outputs = call(clones[layer], *args, **kwargs)
        for old, new in zip(node.output_tensors, tree.flatten(outputs)):
            mapped[id(old)] = new
    inputs = (
        tree.pack_like(model._input_structure, new_inputs)
        if not isinstance(model._input_structure, KerasTensor)
        else new_inputs[0]
    )
    outputs = tree.map_structure(lambda t: mapped[id(t)], model._output_structure)
    return Functional(inputs, outputs, name=model.name)
