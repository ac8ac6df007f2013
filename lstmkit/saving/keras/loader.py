"""Opening Keras's files: ``load_keras_model(path)`` and ``load_keras_weights(model, path)``.

The file kind is told by content, never by the name: a zip holding ``config.json`` and
``model.weights.h5`` is a Keras 3 ``.keras`` file; an HDF5 file with a ``model_config`` attribute is a
legacy full model (Keras 2, tf.keras 2, Keras 3's ``.h5``); an HDF5 file with a ``layers`` group or a
``layer_names`` attribute is a weights file (object-path or by-layer layout).
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
import zipfile

import torch

from lstmkit import backend
from lstmkit.saving.archive import (
    _CORRUPT,
    MAX_DOCUMENT_BYTES,
    ModelFileError,
    _end_of_archive,
    as_file_errors,
)
from lstmkit.saving.envelope import check_member
from lstmkit.saving.keras.config import Translator
from lstmkit.saving.keras.h5 import H5Reader
from lstmkit.saving.keras.training import compile_from_keras, restore_optimizer_state
from lstmkit.saving.keras.weights import (
    by_layer_groups,
    check_and_assign,
    convert_legacy,
    listed_weights,
    object_path_arrays,
)
from lstmkit.saving.limits import check_config_values, refuse_oversized

__all__ = ["keras_file_kind", "load_keras_model", "load_keras_weights"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
KERAS_CONFIG, KERAS_METADATA, KERAS_WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_WEIGHTS_BYTES = 16 << 30  # a member expanding beyond this (or 100x its stored size) is a zip bomb
_MAX_EXPANSION = 100


def keras_file_kind(path) -> str | None:
    """'keras' (a Keras 3 zip), 'hdf5', or None (anything else, e.g. lstmkit's own files)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(b"PK"):
        # Only a look at the names: a damaged zip is left to the reader that reports it.
        with contextlib.suppress(*_CORRUPT):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
            if KERAS_CONFIG in names and "lstmkit.json" not in names:
                return "keras"
    return None


# ---------------------------------------------------------------------------- the .keras zip
class KerasArchive:
    """The members of a Keras 3 ``.keras`` file, read with the same limits as lstmkit's own files."""

    def __init__(self, path):
        self.path = os.fspath(path)
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as handle:
            _end_of_archive(self.path, handle, size)  # member count checked before zipfile parses anything
        try:
            self._zip = zipfile.ZipFile(self.path)
            self._infos = {info.filename: info for info in self._zip.infolist()}
        except _CORRUPT as err:
            raise ModelFileError(self.path, f"the zip archive is truncated or corrupted ({err}).") from None
        self.size = size

    def has(self, name: str) -> bool:
        return name in self._infos

    def names(self) -> list[str]:
        return list(self._infos)

    def read(self, name: str, limit: int) -> bytes:
        info = self._infos.get(name)
        if info is None:
            raise ModelFileError(self.path, f"the member {name!r} is missing (the file is incomplete).")
        # Keras deflates its members: a ratio bounds what one may expand to (1 MiB for tiny ones).
        check_member(
            self.path, info, self.size, _MAX_EXPANSION * max(info.compress_size, 1) + (1 << 20), "Keras files"
        )
        if info.file_size > limit:
            raise ModelFileError(
                self.path, f"the member {name!r} is {info.file_size:,} bytes (limit {limit:,})."
            )
        try:
            with self._zip.open(info) as member:
                data = member.read(limit + 1)
        except _CORRUPT as err:
            raise ModelFileError(self.path, f"the member {name!r} is corrupted ({err}).") from None
        if len(data) != info.file_size:
            raise ModelFileError(self.path, f"the member {name!r} is truncated.")
        return data

    def json(self, name: str):
        try:
            return json.loads(self.read(name, MAX_DOCUMENT_BYTES).decode("utf-8"))
        except (ValueError, RecursionError, UnicodeDecodeError) as err:
            raise ModelFileError(self.path, f"{name} is not valid JSON ({err}).") from None

    def weights(self) -> H5Reader:
        if not self.has(KERAS_WEIGHTS):
            others = [n for n in self.names() if n.startswith("model.weights")]
            detail = (
                f" (it has {', '.join(others)}: sharded or NumPy-format weights, not supported)"
                if others
                else ""
            )
            raise ModelFileError(self.path, f"it has no {KERAS_WEIGHTS}{detail}.")
        return H5Reader(
            self.read(KERAS_WEIGHTS, MAX_WEIGHTS_BYTES), path=self.path, what=f"{KERAS_WEIGHTS} inside it"
        )

    def close(self) -> None:
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------- building the model
def _build_model(translated: dict, translator: Translator, custom_objects, build_shape):
    """An lstmkit model from a translated config, each layer built in turn so that an error names it."""
    from lstmkit.layers.serialization import deserialize

    path = translator.path
    config = translated["config"]
    table = {**translator.classes, **(custom_objects or {})}
    if translated["class_name"] == "Functional":
        return _build_functional(translated, table, path)
    from lstmkit.models.sequential import Sequential

    layers = []
    for entry in config["layers"]:
        name = entry["config"].get("name")
        try:
            layers.append(deserialize(entry, table))
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise ModelFileError(
                path, f"layer {name!r} ({entry['class_name']}) cannot be rebuilt: {err}"
            ) from err
    try:
        model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
        for layer in layers:
            model.add(layer)
        shape = config.get("build_input_shape") or build_shape
        if not model.built and shape:
            model.build(tuple(shape))
    except (TypeError, ValueError, KeyError, IndexError) as err:
        raise ModelFileError(path, f"its layers do not fit together: {err}") from err
    except (MemoryError, RuntimeError) as err:  # e.g. a config asking for absurdly large weights
        raise ModelFileError(path, f"building it failed ({type(err).__name__}: {err}).") from err
    return model


def _build_functional(translated, table, path):
    from lstmkit.layers.serialization import deserialize
    from lstmkit.models.functional import Functional

    for entry in translated["config"]["layers"]:  # each layer once on its own, so that an error names it
        if entry["class_name"] in ("Sequential", "Functional"):
            continue
        try:
            deserialize({"class_name": entry["class_name"], "config": entry["config"]}, table)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise ModelFileError(
                path,
                f"layer {entry['config'].get('name')!r} ({entry['class_name']}) cannot be rebuilt: {err}",
            ) from err
    try:
        return Functional.from_config(translated["config"], custom_objects=table)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        raise ModelFileError(path, f"its graph cannot be rebuilt: {err}") from err


def _finish(model, path, compile, compile_config, custom_objects, state) -> None:
    """Place the model, then compile it and restore the optimizer state when asked and present."""
    model.place(backend.device())
    if not compile or not compile_config or not isinstance(compile_config, dict):
        return
    check_config_values(compile_config, path, "the compile settings", float32=True)
    optimizer_config = compile_from_keras(model, compile_config, path, custom_objects)
    if state is not None:
        restore_optimizer_state(model, path, optimizer_config=optimizer_config, **state)


# ---------------------------------------------------------------------------- entry points
def load_keras_model(path, custom_objects=None, compile=True, safe_mode=True):
    """The model in a Keras 3 ``.keras`` file or a legacy HDF5 full-model file (see ``lstmkit.saving.keras``)."""
    path = os.fspath(path)
    kind = keras_file_kind(path)
    if kind == "keras":
        return _load_keras_zip(path, custom_objects, compile, safe_mode)
    if kind == "hdf5":
        return _load_legacy_h5(path, custom_objects, compile, safe_mode)
    raise ModelFileError(path, "it is neither a Keras .keras archive nor a Keras HDF5 file.")


def _load_keras_zip(path, custom_objects, compile, safe_mode):
    with KerasArchive(path) as archive, as_file_errors(path), torch.random.fork_rng(devices=[]):
        serialized = archive.json(KERAS_CONFIG)
        metadata = archive.json(KERAS_METADATA) if archive.has(KERAS_METADATA) else {}
        version = metadata.get("keras_version") if isinstance(metadata, dict) else None
        if not isinstance(serialized, dict):
            raise ModelFileError(path, f"{KERAS_CONFIG} is not a model config.")
        check_config_values(serialized, path, KERAS_CONFIG)
        translator = Translator(path, custom_objects, version, safe_mode)
        translated = translator.model(serialized, KERAS_CONFIG)
        build_shape = _build_shape(serialized)
        with archive.weights() as reader:
            model = _checked_build(translated, translator, custom_objects, build_shape, reader, KERAS_CONFIG)
            pairs = object_path_arrays(reader, reader.file, model.layers, translator.keras_class_names)
            check_and_assign([(layer, arrays, f"layer '{layer.name}'") for layer, arrays in pairs], path)
            state = _ordered_optimizer_state(reader)
        _finish(model, path, compile, serialized.get("compile_config"), custom_objects, state)
    return model


def _build_shape(serialized):
    """The input shape in a ``config.json``'s ``build_config`` (Keras 3), or None."""
    build_config = serialized.get("build_config") if isinstance(serialized, dict) else None
    return build_config.get("input_shape") if isinstance(build_config, dict) else None


def _checked_build(translated, translator, custom_objects, build_shape, reader, document):
    """The model, after a dry run on the meta device has shown that it needs no more weight values than
    the file holds (a size edited in a config cannot make it allocate gigabytes)."""
    saved = reader.value_count()
    if saved:
        refuse_oversized(
            lambda: _build_model(translated, translator, custom_objects, build_shape),
            saved,
            translator.path,
            document,
        )
    return _build_model(translated, translator, custom_objects, build_shape)


def _load_legacy_h5(path, custom_objects, compile, safe_mode):
    with H5Reader(path) as reader, as_file_errors(path), torch.random.fork_rng(devices=[]):
        root = reader.file
        serialized = reader.attr_json(root, "model_config")
        if serialized is None:
            if reader.group("layers") is not None or reader.attr(root, "layer_names") is not None:
                raise ModelFileError(
                    path,
                    "it holds only weights (written by save_weights), not a whole model. Build the model in "
                    "code, then call model.load_weights(path).",
                )
            raise ModelFileError(
                path,
                "it is an HDF5 file without a Keras model config (no 'model_config' attribute), so there is no "
                "architecture to rebuild. If it holds weights, build the model in code and call "
                "model.load_weights(path).",
            )
        check_config_values(serialized, path, "model_config")
        version = reader.attr_text(root, "keras_version")
        translator = Translator(path, custom_objects, version, safe_mode)
        translated = translator.model(serialized, "its model_config")
        weights_root = reader.group("model_weights")
        if weights_root is None:
            raise ModelFileError(path, "it has no 'model_weights' group (the weights are missing).")
        model = _checked_build(translated, translator, custom_objects, None, reader, "its model_config")
        _assign_by_layer(model, reader, weights_root, path, by_name=True, strict=True)
        state = None
        optimizer_group = reader.group("optimizer_weights")
        if optimizer_group is not None:
            state = {"named": listed_weights(reader, optimizer_group, "the optimizer")}
        training_config = reader.attr_json(root, "training_config")
        _finish(model, path, compile, training_config, custom_objects, state)
    return model


def _assign_by_layer(model, reader, root, path, by_name=False, skip_mismatch=False, strict=False) -> None:
    """Legacy by-layer weights: by position among the layers with weights, or by name (``strict``: every
    layer must be found, as for a whole-model file; else, as Keras, the others keep their values)."""
    groups = by_layer_groups(reader, root)
    targets = [layer for layer in model.layers if layer.keras_weights()]
    if by_name:
        found = {name: weights for name, weights in groups}
        pairs = [(layer, found[layer.name]) for layer in targets if layer.name in found]
        missing = [layer.name for layer in targets if layer.name not in found]
        if missing:
            message = f"it has no weights for layer(s) {missing} (its layers: {[name for name, _ in groups]})"
            if strict:
                raise ModelFileError(path, message + ".")
            warnings.warn(
                f"'{path}': {message}; with by_name=True those layers keep their current weights.",
                UserWarning,
                stacklevel=4,
            )
    else:
        if len(groups) != len(targets):
            raise ModelFileError(
                path,
                f"it has weights for {len(groups)} layer(s) {[name for name, _ in groups]}, the model has "
                f"{len(targets)} layer(s) with weights {[layer.name for layer in targets]}. Weights are matched "
                "by layer order: build the same architecture, or pass by_name=True to match layers by name.",
            )
        pairs = [(layer, weights) for layer, (_, weights) in zip(targets, groups)]
    converted = []
    for layer, weights in pairs:
        label = f"layer '{layer.name}' in the file"
        try:
            arrays = convert_legacy(layer, [array for _, array in weights], label)
        except ValueError as err:
            raise ModelFileError(path, str(err)) from None
        converted.append((layer, arrays, label))
    check_and_assign(converted, path, skip_mismatch=skip_mismatch)


def load_keras_weights(model, path, by_name=False, skip_mismatch=False) -> None:
    """Set ``model``'s weights from a Keras weights file (``.weights.h5`` / ``.h5`` of either layout), a
    legacy full-model ``.h5`` or a ``.keras`` file. The model must be built (``model.build(...)``)."""
    from lstmkit.saving.weights import ensure_built

    path = os.fspath(path)
    kind = keras_file_kind(path)
    if kind == "keras":
        with KerasArchive(path) as archive:
            ensure_built(model, _build_shape(archive.json(KERAS_CONFIG)), path)
            if by_name:
                raise ValueError(
                    "by_name=True is only for legacy .h5 weights files; .keras files match by structure."
                )
            with archive.weights() as reader:
                _assign_object_paths(model, reader, path, skip_mismatch)
        return
    if kind != "hdf5":
        raise ModelFileError(path, "it is neither a Keras .keras archive nor a Keras HDF5 file.")
    with H5Reader(path) as reader:
        ensure_built(model, None, path)
        if reader.group("layers") is not None:
            if by_name:
                raise ValueError(
                    "by_name=True is only for legacy .h5 weights files; this file uses Keras 3's object-path layout, "
                    "matched by structure."
                )
            _assign_object_paths(model, reader, path, skip_mismatch)
        elif reader.attr(reader.file, "layer_names") is not None:
            _assign_by_layer(model, reader, reader.file, path, by_name, skip_mismatch)
        elif reader.group("model_weights") is not None:
            _assign_by_layer(model, reader, reader.group("model_weights"), path, by_name, skip_mismatch)
        else:
            raise ModelFileError(
                path, "it is an HDF5 file but holds no Keras weights ('layers' or 'layer_names')."
            )


def _assign_object_paths(model, reader, path, skip_mismatch) -> None:
    pairs = object_path_arrays(reader, reader.file, model.layers, {})
    check_and_assign(
        [(layer, arrays, f"layer '{layer.name}'") for layer, arrays in pairs], path, skip_mismatch
    )
    # As in Keras 3: a compiled model also takes the optimizer state such a file holds.
    state = _ordered_optimizer_state(reader)
    if state is not None and getattr(model, "compiled", None) is not None:
        config = {"config": model.optimizer.get_config()}
        restore_optimizer_state(model, path, optimizer_config=config, **state)


def _ordered_optimizer_state(reader):
    group = reader.group("optimizer/vars")
    if group is None:
        return None
    names = sorted((n for n in reader.members(group) if n.isdigit()), key=int)
    return {"ordered": [reader.array(reader.get(n, group)) for n in names]}
