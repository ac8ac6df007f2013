"""Compile settings and optimizer state from Keras files, so that ``fit`` continues where Keras stopped.

Compile settings: Keras 3's ``compile_config`` (``.keras``) or the ``training_config`` attribute (legacy
HDF5), with Keras 2's spellings (``"Custom>Adam"``, ``lr``, metrics as ``MeanMetricWrapper`` lists).

Optimizer state: the step count and the slots (e.g. Adam's momentum and velocity) of every trainable
weight, in Keras's layout. Where the file names them (legacy HDF5: ``Adam/m/lstm/...``,
``adam/..._momentum``, ``Adam/lstm/.../m``), the slot kind comes from the name; otherwise (object-path
files) from the order in which Keras creates them, known per optimizer. Each Keras-layout slot array
then goes to lstmkit's parameters through the same ``KerasWeight`` view as the weight itself (so a GRU
slot is reordered and transposed exactly as its kernel). A file whose state cannot be matched loads
with fresh optimizer state and a warning saying so.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import torch

from lstmkit.saving.archive import ModelFileError

__all__ = ["compile_from_keras", "restore_optimizer_state"]

# Keras's optimizer arguments lstmkit does not have, dropped at these values only.
_NEUTRAL_OPTIMIZER = {
    "use_ema": lambda v: not v,
    "ema_momentum": lambda v: True,  # only used with use_ema
    "ema_overwrite_frequency": lambda v: v is None,
    "loss_scale_factor": lambda v: v is None,
    "gradient_accumulation_steps": lambda v: v is None or v == 1,
    "is_legacy_optimizer": lambda v: True,
    "jit_compile": lambda v: True,
    "decay": lambda v: not v,
}

# Keras 3 / tf.keras 2.11+ creation order of the slots: groups created one after another, the names in a
# group interleaved per variable. A callable gets the optimizer config.
_SLOT_LAYOUT = {
    "Adam": lambda c: [("momentum", "velocity")] + ([("velocity_hat",)] if c.get("amsgrad") else []),
    "AdamW": lambda c: [("momentum", "velocity")] + ([("velocity_hat",)] if c.get("amsgrad") else []),
    "Nadam": lambda c: [("momentum", "velocity")],
    "Adamax": lambda c: [("m", "u")],
    "SGD": lambda c: [("momentum",)] if c.get("momentum") else [],
    "RMSprop": lambda c: (
        [("velocity",)]
        + ([("momentum",)] if c.get("momentum") else [])
        + ([("average_gradient",)] if c.get("centered") else [])
    ),
    "Adagrad": lambda c: [("accumulator",)],
    "Adadelta": lambda c: [("accumulated_grad", "accumulated_delta_var")],
    "Lion": lambda c: [("momentum",)],
}
# Slot names of the optimizers of each era -> lstmkit's (which are Keras 3's).
_SLOT_SYNONYMS = {
    "Adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "AdamW": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "Nadam": {"m": "momentum", "v": "velocity"},
    "Adamax": {"v": "u"},
    "SGD": {"m": "momentum"},
    "RMSprop": {"rms": "velocity", "mg": "average_gradient"},
    "Adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"},
    "Lion": {"m": "momentum"},
}


def _strip(serialized):
    if isinstance(serialized, dict) and "class_name" in serialized:
        config = serialized.get("config")
        return {
            "class_name": serialized["class_name"],
            "config": dict(config) if isinstance(config, dict) else {},
        }
    return serialized


def optimizer_class_name(serialized) -> str | None:
    if not isinstance(serialized, dict) or not isinstance(serialized.get("class_name"), str):
        return None
    return serialized["class_name"].split(">")[-1]  # tf.keras 2 writes "Custom>Adam"


# ---------------------------------------------------------------------------- compile settings
def _optimizer(serialized, path, custom_objects):
    from lstmkit import optimizers

    name = optimizer_class_name(serialized)
    if name is None:
        raise ModelFileError(path, f"its optimizer config is malformed: {str(serialized)[:200]}")
    config = dict(serialized.get("config") or {})
    for key, neutral in _NEUTRAL_OPTIMIZER.items():
        if key in config:
            if key == "decay" and config[key]:
                continue  # Keras 2's time-based decay: lstmkit's optimizers take it
            if not neutral(config[key]):
                raise ModelFileError(
                    path,
                    f"its {name} optimizer sets {key}={config[key]!r}, which lstmkit's optimizers do not have. "
                    "Load it with load_model(path, compile=False) and compile it yourself.",
                )
            del config[key]
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        config["learning_rate"] = _strip(rate)
    return optimizers.deserialize({"class_name": name, "config": config}, custom_objects)


def _loss_or_metric(value) -> dict:
    """A Keras loss or metric's ``{"class_name", "config"}`` (a copy). Keras writes its default dtype
    (float32) into every one; it is left out so that lstmkit's default applies, a dtype chosen on purpose
    is kept."""
    serialized = _strip(value)
    if serialized["config"].get("dtype") in ("float32", None):
        serialized["config"].pop("dtype", None)
    return serialized


def _loss(value, custom_objects):
    if isinstance(value, str):
        return custom_objects.get(value, value)
    if isinstance(value, dict) and "class_name" in value:
        from lstmkit import losses

        serialized = _loss_or_metric(value)
        if serialized["config"].get("reduction") == "auto":  # tf.keras 2's name for the default reduction
            serialized["config"]["reduction"] = "sum_over_batch_size"
        return losses.deserialize(serialized, custom_objects)
    if isinstance(value, dict):  # one loss per output
        return {k: _loss(v, custom_objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_loss(v, custom_objects) for v in value]
    return value


def _metric(value, custom_objects):
    if isinstance(value, str):
        return custom_objects.get(value, value)
    if isinstance(value, dict) and "class_name" in value:
        serialized = _loss_or_metric(value)
        if serialized["class_name"] == "MeanMetricWrapper":  # tf.keras 2: a metric given by name
            name = serialized["config"].get("name") or serialized["config"].get("fn")
            return custom_objects.get(name, name)
        from lstmkit import metrics

        return metrics.deserialize(serialized, custom_objects)
    return value


def _metrics(value, custom_objects):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _metrics(v, custom_objects) for k, v in value.items()}
    if not isinstance(value, list):
        return [_metric(value, custom_objects)]
    # tf.keras 2 writes one list per output: [[...]] for a single-output model.
    if len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return [_metrics(v, custom_objects) if isinstance(v, list) else _metric(v, custom_objects) for v in value]


def compile_from_keras(model, config, path, custom_objects) -> dict:
    """``model.compile(...)`` with a Keras file's compile settings; returns the optimizer config used."""
    custom_objects = dict(custom_objects or {})
    optimizer_config = config.get("optimizer", config.get("optimizer_config"))
    try:
        arguments = {
            "optimizer": _optimizer(optimizer_config, path, custom_objects),
            "loss": _loss(config.get("loss"), custom_objects),
            "metrics": _metrics(config.get("metrics"), custom_objects),
            "loss_weights": config.get("loss_weights"),
            "weighted_metrics": _metrics(config.get("weighted_metrics"), custom_objects),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # compile's advice was for whoever compiled it
            model.compile(**arguments)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise ModelFileError(
            path,
            f"its compile settings cannot be rebuilt here: {err} If they name your own loss, metric or "
            "optimizer, pass it as custom_objects={'name': object}; or load without them, "
            "load_model(path, compile=False), and call model.compile(...) yourself.",
        ) from err
    return {
        "class_name": optimizer_class_name(optimizer_config),
        "config": optimizer_config.get("config") or {},
    }


# ---------------------------------------------------------------------------- optimizer state
_ITERATION = re.compile(r"(^|/)(iter|iteration|iterations)(:0)?$")
_LEARNING_RATE = re.compile(r"(^|/)(learning_rate|lr)(:0)?$")


def _slot_of(name: str, known: set[str], synonyms: dict) -> str | None:
    """The slot kind a Keras optimizer variable name shows, or None."""
    name = name.removesuffix(":0")
    parts = name.split("/")
    candidates = [
        parts[1] if len(parts) > 2 else None,
        parts[-1],
    ]  # tf.keras 2.11+: Adam/m/<var>; 2.0-2.10: .../m
    for candidate in candidates:
        candidate = synonyms.get(candidate, candidate)
        if candidate in known:
            return candidate
    for slot in sorted(known | set(synonyms), key=len, reverse=True):  # Keras 3: adam/<var path>_momentum
        if name.endswith("_" + slot):
            return synonyms.get(slot, slot)
    return None


def _state_from_names(entries, slot_names, synonyms):
    """(iterations, {slot: [arrays in order]}) from named variables, or a reason string."""
    iterations, slots = None, {}
    known = set(slot_names)
    for name, array in entries:
        if _ITERATION.search(name):
            iterations = array
            continue
        if _LEARNING_RATE.search(name) or (array.ndim == 0 and _slot_of(name, known, synonyms) is None):
            continue  # hyperparameters (learning rate, decay, ...) come from the config
        slot = _slot_of(name, known, synonyms)
        if slot is None:
            return f"the variable {name!r} is not one of {sorted(known)}"
        slots.setdefault(slot, []).append(array)
    return iterations, slots


def _state_from_order(arrays, layout, count):
    """(iterations, {slot: [arrays]}) from Keras's creation order, or a reason string."""
    if not arrays:
        return "it has no optimizer variables"
    slot_total = sum(len(group) for group in layout) * count
    head = len(arrays) - slot_total
    if head not in (1, 2, 3):  # iteration, then learning_rate (Keras 3), then e.g. Nadam's u_product
        return f"it has {len(arrays)} optimizer variables where {slot_total} slots plus the step count were expected"
    iterations, rest = arrays[0], arrays[1:]
    # Scalars before the slots (learning rate) are skipped; those after (Nadam's u_product) too.
    leading = 0
    while leading < len(rest) - slot_total and rest[leading].ndim == 0:
        leading += 1
    rest = rest[leading : leading + slot_total]
    slots: dict[str, list] = {}
    position = 0
    for group in layout:
        for _ in range(count):
            for slot in group:
                slots.setdefault(slot, []).append(rest[position])
                position += 1
    return iterations, slots


def restore_optimizer_state(model, path, *, named=None, ordered=None, optimizer_config=None) -> None:
    """Put Keras's optimizer state (``named``: [(name, array)] from a legacy file, or ``ordered``: arrays in
    creation order from an object-path file) into the model's compiled optimizer."""
    optimizer = model.optimizer
    class_name = type(optimizer).__name__
    config = dict((optimizer_config or {}).get("config") or {})
    slot_names = tuple(optimizer.slot_names())
    weights = [w for w in model.keras_weights() if w.trainable]
    synonyms = _SLOT_SYNONYMS.get(class_name, {})
    if named is not None:
        found = _state_from_names(named, slot_names, synonyms)
    elif class_name in _SLOT_LAYOUT:
        found = _state_from_order(ordered or [], _SLOT_LAYOUT[class_name](config), len(weights))
    else:
        found = f"the order of {class_name}'s variables in such files is not known"
    problem = found if isinstance(found, str) else _apply(model, optimizer, weights, slot_names, *found)
    if problem:
        warnings.warn(
            f"'{path}': the optimizer state was not restored ({problem}); the model is compiled with a fresh "
            f"{class_name}, so the next fit starts its moments from zero.",
            UserWarning,
            stacklevel=4,
        )


def _apply(model, optimizer, weights, slot_names, iterations, slots) -> str:
    if iterations is None or iterations.size != 1:
        return "no step count was found"
    steps = int(np.asarray(iterations).reshape(()))
    if steps < 0:
        return f"the step count {steps} is invalid"
    if set(slots) != set(slot_names):
        return f"the file has slots {sorted(slots)}, {type(optimizer).__name__} needs {list(slot_names)}"
    for slot, arrays in slots.items():
        if len(arrays) != len(weights):
            return f"{len(arrays)} {slot!r} arrays for {len(weights)} trainable weights"
        for array, weight in zip(arrays, weights):
            if tuple(array.shape) != tuple(weight.shape):
                return f"a {slot!r} array of shape {array.shape} for weight '{weight.name}' of shape {weight.shape}"
            if not np.all(np.isfinite(array)):
                return f"the {slot!r} array of weight '{weight.name}' holds NaN or infinity"
    params = [p for _, p in model.named_parameters() if p.requires_grad]
    per_param = keras_layout_to_parameters(params, weights, slots)
    if isinstance(per_param, str):
        return per_param
    optimizer.set_slots(params, per_param)
    optimizer.load_state_scalars({"iterations": steps})
    return ""


def keras_layout_to_parameters(params, weights, slots):
    """Slot arrays in Keras's layout (one per KerasWeight) -> one ``{slot: tensor}`` per parameter, in
    lstmkit's layout: each array is written through its weight's view into the parameters (filled with NaN
    first, so that a parameter no weight covers shows), read back, and the weights restored."""
    saved = [p.detach().clone() for p in params]
    per_param = [{} for _ in params]
    try:
        with torch.no_grad():
            for slot, arrays in slots.items():
                for p in params:
                    p.fill_(math.nan)
                for weight, array in zip(weights, arrays):
                    weight.write(torch.from_numpy(np.ascontiguousarray(array)))
                for index, p in enumerate(params):
                    if torch.isnan(p).any():
                        return f"parameter #{index} of shape {tuple(p.shape)} has no Keras weight"
                    per_param[index][slot] = p.detach().clone()
    finally:
        with torch.no_grad():
            for p, value in zip(params, saved):
                p.copy_(value)
    return per_param
