"""The file ``BackupAndRestore`` writes: everything a killed ``fit`` needs to continue bit for bit.

The same verified container as model files (archive.py, kind ``"backup"``), written atomically::

    lstmkit.json     kind "backup", and the member list (integrity.py)
    state.json       the model's torch state (parameters and buffers) by name -> state/<i>.npy
    optimizer.json   the optimizer's slots and step count (training_state.py) -> optimizer/<i>.npy
    training.json    where training stands: {"epoch", "step" (batches of that epoch done), "stopped"},
                     the fit's initial_epoch, the learning rate, the distributed shuffle seed, the
                     callbacks' own state, and per process: the random generators' states now and at
                     the start of the epoch, and the epoch's running loss and metrics
                     -> arrays under callbacks/ and ranks/<r>/

Values that are tensors inside these documents are stored as arrays and referred to as
``{"__array__": member}``.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.saving.archive import ArchiveReader, ModelFileError, as_file_errors
from lstmkit.saving.training_state import restore_optimizer_state, write_optimizer_state
from lstmkit.saving.weights import ensure_built, metadata, to_numpy
from lstmkit.saving.writing import ArchiveWriter, atomic_write

__all__ = ["read_training", "restore_model", "write_backup"]

STATE_DOC = "state.json"
TRAINING_DOC = "training.json"
_ARRAY = "__array__"


def _externalize(value, prefix: str, arrays: dict):
    """``value`` with every tensor/array replaced by a reference; the arrays go to ``arrays``."""
    if isinstance(value, torch.Tensor):
        name = f"{prefix}/{len(arrays)}.npy"
        array, dtype = to_numpy(value)
        arrays[name] = array
        return {_ARRAY: name, "dtype": dtype}
    if isinstance(value, np.ndarray):
        name = f"{prefix}/{len(arrays)}.npy"
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, dict):
        return {str(k): _externalize(v, prefix, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_externalize(v, prefix, arrays) for v in value]
    return value


def _internalize(value, reader: ArchiveReader):
    if isinstance(value, dict):
        if _ARRAY in value:
            array = reader.array(value[_ARRAY])
            if "dtype" not in value:
                return array
            return torch.from_numpy(array).to(getattr(torch, value["dtype"]))
        return {k: _internalize(v, reader) for k, v in value.items()}
    if isinstance(value, list):
        return [_internalize(v, reader) for v in value]
    return value


def write_backup(path, model, training: dict) -> None:
    """Write ``model``'s state, its optimizer's and ``training`` (JSON-able, tensors allowed) to ``path``."""
    arrays: dict = {}
    training = _externalize(training, "training", arrays)
    state = model.state_dict()
    with atomic_write(path) as handle, ArchiveWriter(handle) as writer:
        writer.document("lstmkit.json", metadata(model, "backup"))
        entries = []
        for i, (name, tensor) in enumerate(state.items()):
            array, dtype = to_numpy(tensor)
            writer.array(f"state/{i}.npy", array)
            entries.append(
                {"name": name, "file": f"state/{i}.npy", "dtype": dtype, "shape": list(array.shape)}
            )
        writer.document(STATE_DOC, {"entries": entries})
        if model.optimizer is not None:
            write_optimizer_state(writer, model)
        for name, array in arrays.items():
            writer.array(name, array)
        writer.document(TRAINING_DOC, training)


def _open(path):
    reader = ArchiveReader(path)
    if reader.metadata.get("kind") != "backup":
        reader.close()
        raise ModelFileError(reader.path, f"it is a {reader.metadata.get('kind')!r} file, not a backup.")
    return reader


def read_training(path) -> dict:
    """The training document of the backup at ``path``, with its tensors."""
    with _open(path) as reader, as_file_errors(reader.path):
        return _internalize(reader.document(TRAINING_DOC), reader)


def restore_model(path, model) -> None:
    """Put the backed-up state of the model and its optimizer into ``model`` (compiled like the one backed
    up; built for the backed-up input shape if it is not built yet). Raises ModelFileError for a backup
    of another model."""
    with _open(path) as reader, as_file_errors(reader.path):
        if not model.built:  # e.g. a model fed by a Sequence builds on its first batch; build it now
            with torch.random.fork_rng(devices=[]):  # its initial values are overwritten: draw nothing
                ensure_built(model, reader.metadata.get("build_input_shape"), reader.path)
        entries = reader.document(STATE_DOC)["entries"]
        state = model.state_dict()
        names = [entry["name"] for entry in entries]
        if sorted(names) != sorted(state):
            missing, extra = sorted(set(state) - set(names)), sorted(set(names) - set(state))
            raise ModelFileError(
                reader.path,
                f"the backup is of another model: the model's state has {missing or 'nothing'} that the backup "
                f"lacks, and the backup has {extra or 'nothing'} that the model lacks. Delete the backup "
                "directory to start this training afresh.",
            )
        values = {}
        for entry in entries:
            array = reader.array(entry["file"])
            if tuple(array.shape) != tuple(state[entry["name"]].shape):
                raise ModelFileError(
                    reader.path,
                    f"'{entry['name']}' has shape {tuple(array.shape)} in the backup and "
                    f"{tuple(state[entry['name']].shape)} in the model: the backup is of another model. "
                    "Delete the backup directory to start afresh.",
                )
            values[entry["name"]] = torch.from_numpy(array)
        with torch.no_grad():
            for name, target in state.items():
                target.copy_(values[name].to(dtype=target.dtype, device=target.device))
        if model.optimizer is not None and reader.has("optimizer.json"):
            restore_optimizer_state(model, reader)
