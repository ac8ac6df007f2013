"""What lets a loaded model continue training exactly: the compile settings and the optimizer state.

The optimizer state is, for each trainable parameter (by its name in the model, in a fixed order), its
slot tensors (e.g. Adam's momentum and velocity, in torch's layout), plus the step count and any
other numbers the optimizer keeps (``Optimizer.state_scalars``).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import torch

from lstmkit import losses, optimizers
from lstmkit import metrics as metrics_module
from lstmkit.saving.archive import ArchiveReader, ModelFileError
from lstmkit.saving.limits import check_config_values
from lstmkit.saving.weights import read_array, to_numpy
from lstmkit.saving.writing import ArchiveWriter
from lstmkit.utils.naming import lookup

__all__ = [
    "restore_compile",
    "restore_optimizer_state",
    "serialize_compile",
    "write_optimizer_state",
]

COMPILE_DOC = "compile.json"
OPTIMIZER_DOC = "optimizer.json"
_MAX_FLOAT32 = float(np.finfo(np.float32).max)


# ---------------------------------------------------------------------------- compile settings
def _serialize_metric(metric):
    if isinstance(metric, str):
        return metric
    if isinstance(metric, metrics_module.Metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    if isinstance(metric, type):
        return metric.__name__
    name = getattr(metric, "__name__", None)
    if name is None:
        raise TypeError(
            f"Cannot save metric {metric!r}: it is neither a name, a Metric nor a named function."
        )
    return name  # a function: rebuilt from custom_objects by its name


def serialize_compile(compiled) -> dict:
    """``CompileConfig.get_config()``: JSON-safe compile settings — loss names as the user wrote them, one
    loss/metric per output where several were given (lists, dicts), plain functions stored by name (restored
    through ``custom_objects``), Metric/Loss objects by class and config."""
    return dict(compiled.get_config())


def _metric_classes() -> dict:
    found, pending = {}, [metrics_module.Metric]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.setdefault(sub.__name__, sub)
            pending.append(sub)
    return found


def _deserialize_metric(identifier, custom_objects):
    if isinstance(identifier, str):
        return custom_objects.get(identifier, identifier)
    if isinstance(identifier, dict) and isinstance(identifier.get("class_name"), str):
        cls = lookup("metric class", identifier["class_name"], {**_metric_classes(), **custom_objects})
        return cls.from_config(dict(identifier.get("config") or {}))
    raise TypeError(f"invalid metric entry {identifier!r}")


def _is_object_config(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value


def _deserialize_metrics(values, custom_objects, key):
    """A metrics entry: a list, a list of lists (one per output) or a dict by output name."""
    if values is None:
        return None
    if isinstance(values, dict) and not _is_object_config(values):
        return {k: _deserialize_metrics(v, custom_objects, key) for k, v in values.items()}
    if isinstance(values, list):
        return [
            _deserialize_metrics(v, custom_objects, key)
            if isinstance(v, list)
            else _deserialize_metric(v, custom_objects)
            for v in values
        ]
    return _deserialize_metric(values, custom_objects)


def _deserialize_loss(identifier, custom_objects):
    if identifier is None:
        return None
    if isinstance(identifier, list):  # one loss per output
        return [_deserialize_loss(v, custom_objects) for v in identifier]
    if isinstance(identifier, dict) and not _is_object_config(identifier):  # by output name
        return {k: _deserialize_loss(v, custom_objects) for k, v in identifier.items()}
    if isinstance(identifier, str):
        return custom_objects.get(identifier, identifier)
    if isinstance(identifier, dict) and isinstance(identifier.get("class_name"), str):
        return losses.deserialize(identifier, custom_objects)
    raise TypeError(f"invalid loss entry {identifier!r}")


def restore_compile(model, config, custom_objects, path) -> None:
    """``model.compile(...)`` with the saved settings; a teaching error if something cannot be rebuilt."""
    if not isinstance(config, dict) or not isinstance(config.get("optimizer"), dict):
        raise ModelFileError(path, f"{COMPILE_DOC} is malformed (expected a dict with an 'optimizer' entry).")
    check_config_values(config["optimizer"], path, f"{COMPILE_DOC} (optimizer)", float32=True)
    check_config_values(config, path, COMPILE_DOC)
    custom_objects = dict(custom_objects or {})
    try:
        arguments = dict(config)
        arguments["optimizer"] = optimizers.deserialize(config["optimizer"], custom_objects)
        arguments["loss"] = _deserialize_loss(config.get("loss"), custom_objects)
        for key in ("metrics", "weighted_metrics"):
            arguments[key] = _deserialize_metrics(config.get(key), custom_objects, key) or None
        accepted = set(inspect.signature(model.compile).parameters) - {"self", "kwargs"}
        unknown = sorted(set(arguments) - accepted)
        if unknown:
            raise TypeError(f"unknown compile arguments {unknown}")
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", UserWarning
            )  # compile's advice was given when it was first called
            model.compile(**arguments)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
        raise ModelFileError(
            path,
            f"'{path}' holds a model compiled with settings ({COMPILE_DOC}) that cannot be rebuilt here: {err} "
            "If it names "
            "your own loss, metric or optimizer, pass it as custom_objects={'name': object}; or load without "
            "them, load_model(path, compile=False), and call model.compile(...) yourself.",
        ) from err


# ---------------------------------------------------------------------------- optimizer state
def _trainable(model) -> list[tuple[str, torch.nn.Parameter]]:
    # The same parameters, in the same order, as model.trainable_parameters() (what fit updates).
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


def write_optimizer_state(writer: ArchiveWriter, model) -> None:
    optimizer = model.optimizer
    named = _trainable(model)
    slots = optimizer.get_slots([p for _, p in named])
    entries, index = [], 0
    for (name, param), values in zip(named, slots):
        files = None
        if values is not None:
            files = {}
            for slot, tensor in values.items():
                array, dtype = to_numpy(tensor)
                member = f"optimizer/{index}.npy"
                writer.array(member, array)
                files[slot] = {
                    "name": f"{name}/{slot}",
                    "shape": list(array.shape),
                    "dtype": dtype,
                    "file": member,
                }
                index += 1
        entries.append({"name": name, "shape": list(param.shape), "slots": files})
    writer.document(
        OPTIMIZER_DOC,
        {
            "class_name": type(optimizer).__name__,
            "scalars": optimizer.state_scalars(),
            "slot_names": list(optimizer.slot_names()),
            "params": entries,
        },
    )


def restore_optimizer_state(model, reader: ArchiveReader) -> None:
    path = reader.path
    doc = reader.document(OPTIMIZER_DOC)
    optimizer = model.optimizer

    def bad(what):
        return ModelFileError(path, f"{OPTIMIZER_DOC} is malformed or does not fit the model: {what}.")

    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("params"), list)
        or not isinstance(doc.get("scalars"), dict)
    ):
        raise bad("expected 'class_name', 'scalars' and 'params'")
    if doc.get("class_name") != type(optimizer).__name__:
        raise bad(
            f"the state is for a {doc.get('class_name')!r} optimizer, the model is compiled with "
            f"{type(optimizer).__name__}"
        )
    scalars = doc["scalars"]
    if (
        not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= _MAX_FLOAT32
            for v in scalars.values()
        )
        or not isinstance(scalars.get("iterations"), int)
        or scalars["iterations"] < 0
    ):
        raise bad(f"invalid scalars {scalars!r}")
    named = dict(_trainable(model))
    params, slot_values = [], []
    for entry in doc["params"]:
        if not isinstance(entry, dict) or entry.get("name") not in named:
            raise bad(
                f"entry {entry.get('name') if isinstance(entry, dict) else entry!r} is not a trainable "
                f"parameter of the model (its trainable parameters: {', '.join(named)})"
            )
        param = named[entry["name"]]
        if entry.get("shape") != list(param.shape):
            raise bad(f"{entry['name']} has shape {entry.get('shape')}, the model's has {list(param.shape)}")
        slots = entry.get("slots")
        if slots is None:
            values = None
        elif (
            isinstance(slots, dict)
            and set(slots) == set(optimizer.slot_names())
            and all(
                isinstance(s, dict)
                and isinstance(s.get("file"), str)
                and s.get("shape") == list(param.shape)
                and isinstance(s.get("name"), str)
                for s in slots.values()
            )
        ):
            values = {
                slot: torch.from_numpy(read_array(reader, s, "optimizer slot")) for slot, s in slots.items()
            }
        else:
            raise bad(
                f"the slots of {entry['name']} do not match {type(optimizer).__name__}'s "
                f"{list(optimizer.slot_names())}"
            )
        params.append(param)
        slot_values.append(values)
    optimizer.set_slots(params, slot_values)
    optimizer.load_state_scalars(scalars)
