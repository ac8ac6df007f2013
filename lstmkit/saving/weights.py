"""Weights in a model file: writing them per layer in Keras's order and layout, and loading them back
by layer order (as Keras does) or by layer name, with errors that name the layer that does not fit.

``save_weights(model, path)`` writes a weights-only file; ``load_weights(model, path)`` reads the
weights of a weights-only file or of a full model file.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from lstmkit.saving.archive import (
    FORMAT,
    FORMAT_VERSION,
    METADATA,
    NUMERIC_KINDS,
    ArchiveReader,
    ModelFileError,
)
from lstmkit.saving.writing import ArchiveWriter, atomic_write
from lstmkit.utils.naming import reject_unknown_kwargs
from lstmkit.utils.shapes import format_shape

__all__ = ["load_weights", "save_weights"]

WEIGHTS_DOC = "weights.json"


# ---------------------------------------------------------------------------- common helpers
def metadata(model, kind: str) -> dict:
    import lstmkit

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "lstmkit_version": lstmkit.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "model_class": type(model).__name__,
        "model_name": model.name,
        "build_input_shape": build_input_shape(model),
    }


def build_input_shape(model):
    """The input shape(s) the model was built for (batch axis first; a list of shapes for several inputs),
    or None when it is built from its config alone (graph models) or not built."""
    config = model.build_config()
    if config is None:
        return None
    shape = config["input_shape"]
    return [list(s) for s in shape] if _several(shape) else list(shape)


def _several(shape) -> bool:
    return (
        isinstance(shape, (list, tuple)) and bool(shape) and all(isinstance(s, (list, tuple)) for s in shape)
    )


def ensure_built(model, shape, path) -> None:
    """Build ``model`` for ``shape`` (from the file) if it has no weights yet."""
    if model.built and not any(not layer.built for layer in model.layers):
        return
    if shape is None:
        raise ValueError(
            f"Model '{model.name}' is not built yet and '{path}' does not record an input shape to build it "
            "for. Build it first: model.build((None, timesteps, features)), or give its first layer "
            "input_shape=(...)."
        )
    model.build_from_config({"input_shape": [tuple(s) for s in shape] if _several(shape) else tuple(shape)})


def check_metadata(reader: ArchiveReader) -> dict:
    meta = reader.document(METADATA)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            reader.path,
            f"{METADATA} does not describe an lstmkit file (format "
            f"{meta.get('format') if isinstance(meta, dict) else meta!r}).",
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(reader.path, f"{METADATA} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            reader.path,
            f"it was written by a newer lstmkit (file format {version}; this lstmkit reads up to "
            f"{FORMAT_VERSION}). Upgrade lstmkit: pip install -U lstmkit.",
        )
    if meta.get("kind") not in ("model", "weights"):
        raise ModelFileError(reader.path, f"{METADATA} has an unknown kind {meta.get('kind')!r}.")
    shape = meta.get("build_input_shape")
    shapes = shape if shape is not None and _several(shape) and len(shape) <= 64 else [shape]
    if shape is not None and not all(_valid_shape(s, allow_none=True) for s in shapes):
        raise ModelFileError(reader.path, f"{METADATA} has an invalid build_input_shape {shape!r}.")
    return meta


def _valid_shape(shape, allow_none=False) -> bool:
    if not isinstance(shape, list) or len(shape) > 32:
        return False
    return all(
        (d is None and allow_none) or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
        for d in shape
    )


def to_numpy(tensor: torch.Tensor) -> tuple[np.ndarray, str]:
    """A NumPy copy of ``tensor`` (from any device) and the torch dtype name to restore; bfloat16, which
    NumPy lacks, is stored as float32 (exact) and cast back on loading."""
    tensor = tensor.detach().cpu()
    dtype = str(tensor.dtype).replace("torch.", "")
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.to(torch.float32)
    return tensor.numpy(), dtype


# ---------------------------------------------------------------------------- writing
def _weighted_layers(model):
    return [(layer, layer.keras_weights() if layer.built else []) for layer in model.layers]


def write_weights(writer: ArchiveWriter, model) -> None:
    manifest, index, broken = [], 0, []
    for layer, weights in _weighted_layers(model):
        entries = []
        for weight in weights:
            array, dtype = to_numpy(weight.read())
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                broken.append(weight.name)
            name = f"weights/{index}.npy"
            writer.array(name, array)
            entries.append({"name": weight.name, "shape": list(array.shape), "dtype": dtype, "file": name})
            index += 1
        manifest.append({"layer": layer.name, "class_name": type(layer).__name__, "weights": entries})
    writer.document(WEIGHTS_DOC, {"layers": manifest})
    if broken:
        warnings.warn(
            f"Saving model '{model.name}' with NaN or infinite values in {len(broken)} weight(s) "
            f"({', '.join(broken[:5])}{', ...' if len(broken) > 5 else ''}): it will predict NaN. Training "
            "diverged; see the warning fit gave about the loss, and save a checkpoint from before it.",
            UserWarning,
            stacklevel=4,
        )


def save_weights(
    model, filepath, overwrite=True, save_format=None, options=None, max_shard_size=None, **kwargs
) -> None:
    """Write the model's weights (Keras order and layout, per layer) to one file at ``filepath``.

    Any extension works ('.weights.h5', '.h5', '.keras', none): the file is always lstmkit's safe
    single-file format (see ``lstmkit.saving``). ``save_format``, ``options`` and ``max_shard_size``
    exist for Keras compatibility: see ``check_keras_save_options``.
    """
    reject_unknown_kwargs(
        "save_weights", kwargs, ["filepath", "overwrite", "save_format", "options", "max_shard_size"]
    )
    check_keras_save_options(
        "save_weights", save_format=save_format, options=options, max_shard_size=max_shard_size
    )
    with atomic_write(filepath, overwrite=overwrite) as handle, ArchiveWriter(handle) as writer:
        writer.document(METADATA, metadata(model, "weights"))
        write_weights(writer, model)


def check_keras_save_options(
    owner: str, save_format=None, options=None, max_shard_size=None, signatures=None, zipped=None
) -> None:
    """Keras's format-choosing arguments. The file is the same whatever format they name, so 'h5',
    'keras' and 'tf' are accepted ('tf' with a warning: no SavedModel directory is written); the
    TensorFlow-only ones must be left at their defaults."""
    if save_format is not None:
        if save_format not in ("h5", "keras", "tf"):
            raise ValueError(
                f"{owner}: save_format must be None, 'keras', 'h5' or 'tf'. Received: {save_format!r}"
            )
        if save_format == "tf":
            warnings.warn(
                f"{owner}(save_format='tf'): lstmkit writes its single-file format, not a TensorFlow "
                "SavedModel directory; load it with lstmkit.models.load_model.",
                UserWarning,
                stacklevel=3,
            )
    for name, value in (("options", options), ("signatures", signatures), ("max_shard_size", max_shard_size)):
        if value is not None:
            raise ValueError(
                f"{owner}: {name}= is a TensorFlow/Keras-format option that lstmkit's single-file format "
                f"does not have. Leave it out. Received: {name}={value!r}"
            )
    if zipped is not None and not zipped:
        raise ValueError(
            f"{owner}: zipped=False (an unzipped model directory) is not supported; lstmkit always writes "
            "one file. Leave zipped out."
        )


# ---------------------------------------------------------------------------- reading
def read_manifest(reader: ArchiveReader) -> list[dict]:
    """The weights manifest, checked entry by entry."""
    doc = reader.document(WEIGHTS_DOC)

    def bad(what):
        return ModelFileError(reader.path, f"{WEIGHTS_DOC} is malformed: {what}.")

    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise bad("expected {'layers': [...]}")
    files = set()
    for i, group in enumerate(doc["layers"]):
        if (
            not isinstance(group, dict)
            or not isinstance(group.get("layer"), str)
            or not isinstance(group.get("class_name"), str)
            or not isinstance(group.get("weights"), list)
        ):
            raise bad(f"layer entry {i} needs 'layer', 'class_name' and a 'weights' list")
        for weight in group["weights"]:
            if (
                not isinstance(weight, dict)
                or not isinstance(weight.get("name"), str)
                or not _valid_shape(weight.get("shape"))
                or not isinstance(weight.get("dtype"), str)
                or not isinstance(weight.get("file"), str)
            ):
                raise bad(f"a weight of layer {group['layer']!r} needs 'name', 'shape', 'dtype' and 'file'")
            if weight["file"] in files or not reader.has(weight["file"]):
                raise bad(
                    f"weight {weight['name']!r} refers to a missing or repeated member {weight['file']!r}"
                )
            files.add(weight["file"])
    return doc["layers"]


def read_array(reader: ArchiveReader, entry: dict, what: str) -> np.ndarray:
    """The array of a manifest ``entry``, checked against the shape the manifest declares."""
    array = reader.array(entry["file"])
    if list(array.shape) != list(entry["shape"]) or array.dtype.kind not in NUMERIC_KINDS:
        raise ModelFileError(
            reader.path,
            f"{what} {entry['name']!r} is listed with shape {format_shape(entry['shape'])} but its array has "
            f"shape {format_shape(array.shape)} (corrupted).",
        )
    stored = "float32" if entry["dtype"] == "bfloat16" else entry["dtype"]  # bfloat16 is kept as float32
    if array.dtype.name != stored:
        raise ModelFileError(
            reader.path,
            f"{what} {entry['name']!r} is listed as {entry['dtype']} but its array {entry['file']!r} holds "
            f"{array.dtype.name} (edited or damaged).",
        )
    return array


def _describe(name, class_name, shapes) -> str:
    return f"'{name}' ({class_name}: " + ", ".join(format_shape(s) for s in shapes) + ")"


def assign_weights(
    model, reader: ArchiveReader, groups: list[dict], by_name=False, skip_mismatch=False
) -> None:
    """Set ``model``'s weights from the file's ``groups``. Everything is read and checked before the
    first weight changes, so a failed load leaves the model as it was."""
    path = reader.path
    saved = [g for g in groups if g["weights"]]
    targets = [(layer, weights) for layer, weights in _weighted_layers(model) if weights]
    if by_name:
        by_layer = {g["layer"]: g for g in saved}
        pairs = [
            (layer, weights, by_layer[layer.name]) for layer, weights in targets if layer.name in by_layer
        ]
        _report_unmatched(model, path, saved, targets, pairs)
    else:
        if len(saved) != len(targets):
            in_file = (
                ", ".join(
                    _describe(g["layer"], g["class_name"], [w["shape"] for w in g["weights"]]) for g in saved
                )
                or "none"
            )
            in_model = (
                ", ".join(
                    _describe(layer.name, type(layer).__name__, [w.shape for w in weights])
                    for layer, weights in targets
                )
                or "none"
            )
            raise ValueError(
                f"Cannot load the weights in '{path}' into model '{model.name}': the file has weights for "
                f"{len(saved)} layer(s) [{in_file}] but the model has {len(targets)} layer(s) with weights "
                f"[{in_model}]. Weights are matched by layer order: build the same architecture, or pass "
                "by_name=True to match layers by name."
            )
        pairs = [(layer, weights, group) for (layer, weights), group in zip(targets, saved)]

    updates, skipped = [], []
    for position, (layer, weights, group) in enumerate(pairs):
        problem = _mismatch(layer, weights, group)
        if problem:
            if skip_mismatch:
                skipped.append(f"layer #{position} '{layer.name}' ({type(layer).__name__}): {problem}")
                continue
            raise ValueError(
                f"Cannot load the weights in '{path}' into layer #{position} '{layer.name}' "
                f"({type(layer).__name__}) of model '{model.name}': {problem} Check that the model is built "
                "like the one that was saved, or pass skip_mismatch=True to load the layers that fit."
            )
        for weight, entry in zip(weights, group["weights"]):
            updates.append((weight, read_array(reader, entry, "weight")))
    if skipped:
        warnings.warn(
            f"load_weights('{path}', skip_mismatch=True) loaded {len(pairs) - len(skipped)} layer(s) and skipped "
            f"{len(skipped)}, which keep their previous weights (Skipped: the shapes differ):\n  "
            + "\n  ".join(skipped),
            UserWarning,
            stacklevel=4,
        )
    with torch.no_grad():
        for weight, array in updates:
            weight.write(torch.from_numpy(array))


def _report_unmatched(model, path, saved, targets, pairs) -> None:
    """by_name=True: refuse a load that matches no layer, warn about layers left out on either side."""
    matched = {layer.name for layer, _, _ in pairs}
    model_only = [layer.name for layer, _ in targets if layer.name not in matched]
    file_only = [g["layer"] for g in saved if g["layer"] not in matched]
    if not model_only and not file_only:
        return
    detail = f"model layers with weights not in the file: {model_only or 'none'}; file layers not in the model: {file_only or 'none'}"
    advice = (
        "Layer names must be equal to match by name; automatic names differ when a model is built twice in one "
        "process ('lstm' then 'lstm_1'). Give the layers names (LSTM(..., name='encoder')), or load by order "
        "(by_name=False) into the same architecture."
    )
    if not pairs and saved and targets:
        raise ValueError(
            f"load_weights('{path}', by_name=True) matched no layer of model '{model.name}', so nothing would be "
            f"loaded ({detail}). {advice}"
        )
    if model_only:
        warnings.warn(
            f"load_weights('{path}', by_name=True) loaded {len(pairs)} layer(s) by name; {len(model_only)} layer(s) "
            f"of model '{model.name}' keep their previous weights ({detail}). {advice}",
            UserWarning,
            stacklevel=5,
        )


def _mismatch(layer, weights, group) -> str:
    mine = [w.shape for w in weights]
    theirs = [tuple(w["shape"]) for w in group["weights"]]
    if len(mine) != len(theirs):
        return (
            f"it has {len(mine)} weight arrays {[format_shape(s) for s in mine]}, but the file's layer "
            f"{_describe(group['layer'], group['class_name'], theirs)} has {len(theirs)}."
        )
    for weight, entry, shape in zip(weights, group["weights"], theirs):
        if tuple(weight.shape) != shape:
            return (
                f"weight '{weight.name}' has shape {format_shape(weight.shape)}, but the file's "
                f"'{entry['name']}' has shape {format_shape(shape)}."
            )
    return ""


def load_weights(model, filepath, skip_mismatch=False, by_name=False, options=None, **kwargs) -> None:
    """Set the model's weights from a file written by ``save_weights`` or ``save`` — lstmkit's, or Keras's
    own (``.keras``, ``.weights.h5``, ``.h5`` of Keras 1 to 3, including CuDNNLSTM/CuDNNGRU weights, which
    are converted; see ``lstmkit.saving.keras``).

    Layers are matched in order (layers without weights are skipped), or by name with
    ``by_name=True`` (Keras 2); ``skip_mismatch=True`` skips, with a warning, layers whose weights do
    not fit instead of raising. A model that is not built yet is built for the input shape the file
    records.
    """
    reject_unknown_kwargs("load_weights", kwargs, ["filepath", "skip_mismatch", "by_name", "options"])
    check_keras_save_options("load_weights", options=options)
    from lstmkit.saving.keras import keras_file_kind, load_keras_weights

    if keras_file_kind(filepath) is not None:  # written by Keras itself: .keras, .weights.h5 or .h5
        load_keras_weights(model, filepath, by_name=bool(by_name), skip_mismatch=bool(skip_mismatch))
        return
    with ArchiveReader(filepath) as reader:
        meta = check_metadata(reader)
        groups = read_manifest(reader)
        ensure_built(model, meta.get("build_input_shape"), reader.path)
        assign_weights(model, reader, groups, by_name=bool(by_name), skip_mismatch=bool(skip_mismatch))
