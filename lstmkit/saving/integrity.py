"""What a model file records about each of its members, so that no edit or damage can change its
meaning unnoticed (file format 2).

The zip's own CRC-32 catches random damage to a member's bytes, but not a tool or a person that
rewrites the archive (the CRC is recomputed), nor a damaged member *name* (names are not covered by any
CRC: ``compile.json`` read as ``compile.bson`` silently gave an uncompiled model). So the writer lists
every member in ``lstmkit.json`` (written last)::

    "members": {"weights/0.npy": {"size": 368, "sha256": "9f2c…", "dtype": "float32",
                                  "byte_order": "little", "order": "C", "shape": [3, 20]},
                "model.json": {"size": 1591, "sha256": "51ab…"}, ...}

and the reader refuses a file whose members are not exactly those listed, a member whose bytes do not
hash to the listed SHA-256, and an array whose ``.npy`` header says another dtype, byte order, memory
order or shape than the list (so a one-byte ``'<f4'`` → ``'>f4'`` edit can no longer load byte-swapped
weights). ``lstmkit.json`` itself is parsed and validated field by field.

Format-1 files (lstmkit before this list existed) have no such list; they are still read, with the
checks that need no list: an array must be in C order and little-endian, as lstmkit always wrote them,
and its dtype must be the one ``weights.json``/``optimizer.json`` give.
"""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np

__all__ = [
    "MEMBERS_KEY",
    "HashingReader",
    "HashingWriter",
    "array_entry",
    "byte_order",
    "check_members",
    "document_entry",
    "header_problem",
]

MEMBERS_KEY = "members"
ARRAY_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_NDIM = 32


def byte_order(dtype: np.dtype) -> str:
    """'little', 'big', or 'none' (one-byte types), whatever the machine's own order is."""
    order = dtype.byteorder
    if order == "|" or dtype.itemsize == 1:
        return "none"
    if order == "=":
        return "little" if np.little_endian else "big"
    return "little" if order == "<" else "big"


def document_entry(data: bytes) -> dict:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def array_entry(array: np.ndarray, size: int, sha256: str) -> dict:
    return {
        "size": size,
        "sha256": sha256,
        "dtype": array.dtype.name,
        "byte_order": byte_order(array.dtype),
        "order": "C",
        "shape": list(array.shape),
    }


class HashingWriter:
    """A write-only file object that hashes and counts what passes through to ``target``."""

    def __init__(self, target):
        self.target, self.size, self._hash = target, 0, hashlib.sha256()

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self._hash.update(view)
        self.size += len(view)
        return self.target.write(view)

    def flush(self) -> None:
        self.target.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class HashingReader:
    """A read-only file object over ``source`` that hashes and counts what is read from it."""

    def __init__(self, source):
        self.source, self.position, self._hash = source, 0, hashlib.sha256()

    def read(self, size=-1) -> bytes:
        data = self.source.read(size)
        self._hash.update(data)
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        count = self.source.readinto(buffer)
        if count:
            self._hash.update(memoryview(buffer)[:count])
            self.position += count
        return count

    def tell(self) -> int:
        return self.position

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _valid_shape(shape) -> bool:
    return (
        isinstance(shape, list)
        and len(shape) <= _MAX_NDIM
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    )


def check_members(members, names_in_zip, metadata_name: str) -> str | None:
    """What is wrong with the ``members`` list of a format-2 file whose zip holds ``names_in_zip``, or
    None. Every listed member must exist, every member but the metadata must be listed."""
    if not isinstance(members, dict) or not members:
        return f"its {metadata_name} has no valid '{MEMBERS_KEY}' list (the file is damaged or was edited)."
    for name, entry in members.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("size"), int)
            or isinstance(entry.get("size"), bool)
            or entry["size"] < 0
            or not isinstance(entry.get("sha256"), str)
            or not _SHA256.fullmatch(entry["sha256"])
        ):
            return f"the entry of member {name!r} in {metadata_name} is malformed: {str(entry)[:200]}"
        if name.endswith(".npy") and (
            entry.get("dtype") not in ARRAY_DTYPES
            or entry.get("byte_order") not in ("little", "big", "none")
            or entry.get("order") != "C"
            or not _valid_shape(entry.get("shape"))
            or math.prod(entry["shape"]) * np.dtype(entry["dtype"]).itemsize > entry["size"]
        ):
            return f"the entry of array member {name!r} in {metadata_name} is malformed: {str(entry)[:200]}"
    present = set(names_in_zip) - {metadata_name}
    missing = sorted(set(members) - present)
    unlisted = sorted(present - set(members))
    if missing:
        extra = (
            f" The file holds unlisted member(s) {unlisted} instead (a damaged name?)." if unlisted else ""
        )
        return (
            f"the member(s) {missing} listed in {metadata_name} are missing: the file is incomplete, "
            f"damaged or was edited.{extra}"
        )
    if unlisted:
        return (
            f"it holds member(s) {unlisted} that {metadata_name} does not list: the file was edited or "
            "damaged (lstmkit lists every member it writes)."
        )
    return None


def header_problem(name: str, shape, fortran: bool, dtype: np.dtype, entry: dict | None) -> str | None:
    """What is wrong with an ``.npy`` header given the member's listing (None: format 1, no listing)."""
    if entry is None:
        if fortran:
            return (
                f"array member {name!r} is stored in Fortran (column-major) order, which lstmkit never "
                "writes: the file was edited or damaged."
            )
        if byte_order(dtype) == "big":
            return (
                f"array member {name!r} is stored big-endian ({dtype.str}), which lstmkit's format-1 files "
                "never are: the file was edited or damaged."
            )
        return None
    found = {
        "dtype": dtype.name,
        "byte_order": byte_order(dtype),
        "order": "F" if fortran and len(shape) > 1 else "C",
        "shape": list(shape),
    }
    listed = {key: entry.get(key) for key in found}
    if found != listed:
        differing = ", ".join(
            f"{k} {found[k]!r} (listed: {listed[k]!r})" for k in found if found[k] != listed[k]
        )
        return f"array member {name!r} has {differing}: the file was edited or damaged."
    return None
