"""What a file is before it is read as a model archive: a foreign format told by its first bytes or by
its member names, the zip's end-of-archive record, checked before zipfile parses the directory (so a
hostile member count or directory size is refused at once), and each member's entry, checked before it is
read (lstmkit's archives and Keras's ``.keras`` files alike)."""

from __future__ import annotations

import struct
import zipfile

__all__ = ["check_member", "describe_foreign", "describe_foreign_zip", "end_of_archive"]

METADATA = "lstmkit.json"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"


def _error(path, problem):
    from lstmkit.saving.archive import ModelFileError

    return ModelFileError(path, problem)


def describe_foreign(head: bytes) -> str | None:
    if head.startswith(_HDF5_SIGNATURE):
        return (
            "it is an HDF5 file (as Keras's model.save('model.h5') and save_weights, or h5py, write), not an "
            "lstmkit file. Keras's files open with lstmkit.models.load_model(path) (a whole model) or "
            "model.load_weights(path) (weights), which recognise them by their content."
        )
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return (
            "it is a Python pickle (as pickle.dump or an old torch.save write). lstmkit never unpickles "
            "files, because loading a pickle can run arbitrary code. Save models with model.save(path)."
        )
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return (
            "it looks like a JSON text, e.g. the architecture written by model.to_json(), which has no "
            "weights. Rebuild that with lstmkit.models.model_from_json(open(path).read())."
        )
    return None


def end_of_archive(path: str, handle, size: int, max_members: int) -> tuple[int, int]:
    """(member count, central directory size) from the end-of-archive record, read before zipfile parses
    the directory, so that a hostile member count is refused at once."""
    tail_length = min(size, 22 + 65535)
    handle.seek(size - tail_length)
    tail = handle.read(tail_length)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise _error(
            path,
            "the end-of-archive record is missing, so the file is truncated or is not a zip-based model file "
            "(was it cut off while being written, copied or downloaded?).",
        )
    _, _, _, _, count, directory_size, directory_offset, _ = struct.unpack("<4sHHHHIIH", tail[at : at + 22])
    if count == 0xFFFF or directory_size == 0xFFFFFFFF or directory_offset == 0xFFFFFFFF:
        locator_at = size - tail_length + at - 20
        if locator_at < 0:
            raise _error(
                path, "its zip64 end-of-archive locator is missing (the file is truncated or corrupted)."
            )
        handle.seek(locator_at)
        locator = handle.read(20)
        if len(locator) != 20 or locator[:4] != _ZIP64_LOCATOR:
            raise _error(path, "its zip64 end-of-archive locator is damaged (the file is corrupted).")
        (record_offset,) = struct.unpack("<Q", locator[8:16])
        if record_offset + 56 > size:
            raise _error(path, "its zip64 end-of-archive record points past the end of the file (truncated).")
        handle.seek(record_offset)
        record = handle.read(56)
        if record[:4] != _ZIP64_EOCD:
            raise _error(path, "its zip64 end-of-archive record is damaged (the file is corrupted).")
        count, directory_size = struct.unpack("<QQ", record[32:48])
    if count > max_members:
        raise _error(
            path,
            f"it declares {count:,} members, more than any model file has (limit {max_members:,}); it is not "
            "a model file or it was crafted to exhaust memory.",
        )
    if directory_size > size:
        raise _error(path, "its zip directory is larger than the file itself (truncated or corrupted).")
    return count, directory_size


def check_member(path, info: zipfile.ZipInfo, file_size: int, max_expanded: int, files: str) -> None:
    """Refuse a member that could not be read safely: encrypted, stored with inconsistent sizes, deflated
    to more than ``max_expanded`` bytes (a zip bomb), or compressed by another method. ``files`` names the
    kind of file in the errors ('model files', 'Keras files')."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise _error(path, f"the member {name!r} is encrypted; {files} never are.")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size or info.file_size > file_size:
            raise _error(path, f"the member {name!r} has inconsistent sizes (corrupted).")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > max_expanded:
            raise _error(
                path,
                f"the compressed member {name!r} declares {info.file_size:,} bytes once expanded from "
                f"{info.compress_size:,} stored (limit {max_expanded:,}): this looks like a zip bomb "
                "(a decompression bomb).",
            )
    else:
        raise _error(
            path,
            f"the member {name!r} uses zip compression method {info.compress_type}, which {files} never use.",
        )


def describe_foreign_zip(names: list[str]) -> str:
    """What a zip without lstmkit.json is, from its member names alone (nothing is read)."""
    if any(n.endswith("model.weights.h5") for n in names) or {"config.json", "metadata.json"} <= set(names):
        return (
            "it is a Keras 3 '.keras' file, not an lstmkit file. Keras's files open with "
            "lstmkit.models.load_model(path) or model.load_weights(path), which recognise them by their "
            "content."
        )
    if any(n.endswith("data.pkl") for n in names):
        return (
            "it is a PyTorch torch.save file, which holds a pickle; lstmkit never unpickles files, "
            "because loading a pickle can run arbitrary code. Save models with model.save(path)."
        )
    if names and all(n.endswith(".npy") for n in names):
        return (
            "it is a NumPy .npz archive, not a model file. Load it with w = np.load(path) and pass the "
            "arrays to model.set_weights([...])."
        )
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return (
        f"it is a zip archive but not an lstmkit model file (no {METADATA} inside; it holds: "
        f"{shown or 'nothing'})."
    )
