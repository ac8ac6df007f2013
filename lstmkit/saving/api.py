"""save_model / load_model and the JSON architecture functions.

``save_model(model, path)`` (what ``model.save`` calls) writes the architecture, the weights, the
compile settings and the optimizer state into one file; ``load_model(path)`` rebuilds a model that
predicts identically and, compiled, continues training exactly where the saved one stopped. Files
are portable across devices: tensors are saved from the CPU and loaded onto
``lstmkit.backend.device()``.
"""

from __future__ import annotations

import json
import math

import torch

from lstmkit import backend
from lstmkit.saving.archive import METADATA, ArchiveReader, ModelFileError, as_file_errors
from lstmkit.saving.limits import check_config_values, refuse_oversized
from lstmkit.saving.training_state import (
    COMPILE_DOC,
    OPTIMIZER_DOC,
    restore_compile,
    restore_optimizer_state,
    serialize_compile,
    write_optimizer_state,
)
from lstmkit.saving.weights import (
    assign_weights,
    check_keras_save_options,
    check_metadata,
    ensure_built,
    metadata,
    read_manifest,
    write_weights,
)
from lstmkit.saving.writing import ArchiveWriter, atomic_write, json_default
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["load_model", "model_from_config", "model_from_json", "model_to_json", "save_model"]

MODEL_DOC = "model.json"


def _serialized_model(model) -> dict:
    return {"class_name": type(model).__name__, "config": model.get_config()}


def _is_model(obj) -> bool:
    """A model describes itself (``build_config``) and trains (``fit``); saving needs nothing more."""
    return callable(getattr(obj, "build_config", None)) and callable(getattr(obj, "fit", None))


def save_model(
    model,
    filepath,
    overwrite=True,
    include_optimizer=True,
    save_format=None,
    signatures=None,
    options=None,
    save_traces=True,
    zipped=None,
    **kwargs,
) -> None:
    """Write ``model`` to one self-contained file at ``filepath``, whatever its extension.

    The file holds the architecture (JSON), the weights, and — for a compiled model with
    ``include_optimizer=True`` — the compile settings and the optimizer state. It is written
    atomically: a crash mid-save leaves any previous file at ``filepath`` whole. ``save_format``
    ('keras', 'h5', 'tf') does not change the file (see ``lstmkit.saving``); the TensorFlow-only
    ``signatures`` and ``options`` must stay unset. ``save_traces`` is accepted for Keras 2 code: lstmkit
    never saves traced code, only configs, so loading always needs the layer classes (or
    ``custom_objects``).
    """
    reject_unknown_kwargs(
        "save",
        kwargs,
        [
            "filepath",
            "overwrite",
            "include_optimizer",
            "save_format",
            "signatures",
            "options",
            "save_traces",
            "zipped",
        ],
    )
    check_keras_save_options(
        "save", save_format=save_format, options=options, signatures=signatures, zipped=zipped
    )
    if not _is_model(model):
        raise TypeError(
            f"save_model needs an lstmkit model. Received: {model!r} (type {type(model).__name__})."
        )
    # Everything that can fail on the model's side (configs, JSON) is done before the file is opened.
    architecture = json.loads(json.dumps(_serialized_model(model), default=json_default))
    compiled = model.compiled if include_optimizer else None
    compile_config = (
        json.loads(json.dumps(serialize_compile(compiled), default=json_default)) if compiled else None
    )
    with atomic_write(filepath, overwrite=overwrite) as handle, ArchiveWriter(handle) as writer:
        writer.document(METADATA, metadata(model, "model"))
        writer.document(MODEL_DOC, architecture)
        write_weights(writer, model)
        if compiled is not None:
            writer.document(COMPILE_DOC, compile_config)
            write_optimizer_state(writer, model)


def model_from_config(config, custom_objects=None, source="the config"):
    """A new (unbuilt or built, as the config says) model from ``{"class_name", "config"}``."""
    from lstmkit.layers.serialization import deserialize

    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict)
    ):
        raise TypeError(
            f"{source} must be a model config {{'class_name': ..., 'config': {{...}}}}. Received: "
            f"{str(config)[:200]}"
        )
    model = deserialize({"class_name": config["class_name"], "config": config["config"]}, custom_objects)
    if not _is_model(model):
        raise TypeError(
            f"{source} describes a {type(model).__name__} layer, not a model. Wrap it: Sequential([layer])."
        )
    return model


def model_to_json(model, **kwargs) -> str:
    """The architecture as a JSON string (no weights). ``kwargs`` go to ``json.dumps`` (e.g. ``indent=2``)."""
    import lstmkit

    document = {**_serialized_model(model), "lstmkit_version": lstmkit.__version__, "backend": "torch"}
    return json.dumps(document, default=json_default, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A new model from ``model.to_json()``'s string, with fresh weights; ``custom_objects`` maps the names
    of your own layer classes to the classes (``{'MyLayer': MyLayer}``)."""
    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(
            "model_from_json needs the JSON string from model.to_json(). Received: "
            f"{type(json_string).__name__}."
        )
    try:
        config = json.loads(json_string)
    except (ValueError, RecursionError) as err:
        raise ValueError(
            f"model_from_json received text that is not valid JSON ({err}). Pass the string that "
            "model.to_json() returned."
        ) from None
    return model_from_config(config, custom_objects, source="The JSON")


def _built(config, custom_objects, meta, path):
    model = model_from_config(config, custom_objects)
    ensure_built(model, meta.get("build_input_shape"), path)
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, options=None, **kwargs):
    """The model saved at ``filepath`` by ``model.save``, on ``lstmkit.backend.device()``.

    custom_objects: ``{'Name': object}`` for your own layers, losses, metrics, optimizers.
    compile: restore the compile settings and optimizer state (when the file has them), so that
    ``fit`` continues exactly where the saved model stopped. ``safe_mode`` is accepted for Keras code;
    lstmkit never runs code from a file, so loading is always safe. Files written by Keras itself
    (a Keras 3 ``.keras`` file, a Keras 2 / tf.keras / Keras 3 ``.h5`` model) are recognised by their
    content and opened too (see ``lstmkit.saving.keras``; HDF5 needs ``pip install 'lstmkit[keras]'``).
    Raises ``ModelFileError`` (a ValueError) for a file that is truncated, corrupted or of another
    format, ``FileNotFoundError`` for a missing one.
    """
    reject_unknown_kwargs(
        "load_model", kwargs, ["filepath", "custom_objects", "compile", "safe_mode", "options"]
    )
    check_keras_save_options("load_model", options=options)
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            f"custom_objects must be a dict {{'Name': object}}. Received: {type(custom_objects).__name__}."
        )
    from lstmkit.saving.keras import keras_file_kind, load_keras_model

    if keras_file_kind(filepath) is not None:  # a file written by Keras itself (.keras zip or HDF5)
        return load_keras_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    # Every failure past opening is a ModelFileError; building the layers draws their initial values
    # from a forked generator, so that loading leaves the global random state as it was.
    with ArchiveReader(filepath) as reader, as_file_errors(reader.path), torch.random.fork_rng(devices=[]):
        path = reader.path
        meta = check_metadata(reader)
        if meta["kind"] != "model":
            raise ModelFileError(
                path,
                f"'{path}' holds only weights (written by save_weights), not a whole model. Build the "
                "model in code, then call model.load_weights(path).",
            )
        config = reader.document(MODEL_DOC)
        check_config_values(config, path, MODEL_DOC)
        groups = read_manifest(reader)
        saved = sum(math.prod(w["shape"]) for group in groups for w in group["weights"])
        if saved:
            refuse_oversized(lambda: _built(config, custom_objects, meta, path), saved, path)
        try:
            model = model_from_config(config, custom_objects, source=f"The architecture in '{path}'")
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:
            raise ModelFileError(path, f"its architecture cannot be rebuilt: {err}") from err
        except (MemoryError, RuntimeError) as err:  # e.g. a config asking for absurdly large weights
            raise ModelFileError(
                path, f"building its architecture failed ({type(err).__name__}: {err})."
            ) from err
        if meta.get("build_input_shape") is not None or any(group["weights"] for group in groups):
            ensure_built(model, meta.get("build_input_shape"), path)
            assign_weights(model, reader, groups)
        model.place(backend.device())
        if compile and reader.has(COMPILE_DOC):
            restore_compile(model, reader.document(COMPILE_DOC), custom_objects, path)
            if reader.has(OPTIMIZER_DOC):
                restore_optimizer_state(model, reader)
    return model
