"""The one-file container behind ``model.save`` and ``model.save_weights``: a zip archive of JSON
documents and ``.npy`` arrays, written atomically and read defensively.

Why this format
    *Loading must never run code.* A pickle (``torch.save``, ``np.load(allow_pickle=True)``) can run
    any code while it loads, so it is out. JSON is data only, and a ``.npy`` member read with
    ``allow_pickle=False`` is a small literal header (dtype, shape, order) followed by raw bytes.
    *One self-contained file*, whatever the extension, that ordinary tools can open: ``unzip -l
    model.keras`` lists it and ``numpy.load`` reads any array in it (Keras's own ``.keras`` is also
    a zip of JSON plus weights). *No new dependency*: zipfile, json and numpy only. safetensors would
    hold the tensors safely too, but it is not a dependency of lstmkit and a model file also needs
    JSON documents beside the tensors (architecture, compile settings, optimizer state), which a zip
    holds naturally.

Layout (format version 2)::

    lstmkit.json    what the file is: {"format": "lstmkit", "format_version": 2, "kind": "model" | "weights",
                    the lstmkit and torch versions, the model's class, name and build input shape, and
                    "members": every other member's size and SHA-256, and for arrays their dtype, byte
                    order, memory order and shape (integrity.py); written last}
    model.json      the architecture, {"class_name", "config"} (kind "model")
    compile.json    the compile settings (a compiled model, saved with include_optimizer=True)
    weights.json    per layer: its name, class and weights [{"name", "shape", "dtype", "file"}]
    weights/<i>.npy
    optimizer.json  step count and other numbers, and the slot arrays of each trainable parameter
    optimizer/<i>.npy

Writing: to a temporary file in the target's directory, flushed and fsync'ed, then ``os.replace``'d
over the target (atomic on POSIX and Windows), so a crash or a kill mid-save never leaves a
half-written file under the target name: the previous file stays whole.

Reading is bounded by the file itself: before zipfile parses anything the end-of-archive record is
checked (member count), every member must be stored uncompressed except small JSON documents, the
uncompressed members may not add up to more than the file's size (so no zip bomb and no members
overlapping the same bytes), arrays must be plain numbers whose header agrees with the member's
size, every member is the one listed (name, SHA-256, array header), and every failure — truncation,
corruption (CRC), an edit, a foreign format, an unreadable value — is reported as a ``ModelFileError``
that names the file and the problem. Format-1 files (no member list) are still read; see integrity.py.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from lstmkit.saving import integrity
from lstmkit.saving.envelope import check_member, describe_foreign, describe_foreign_zip, end_of_archive
from lstmkit.utils.naming import closest

__all__ = ["FORMAT", "FORMAT_VERSION", "ArchiveReader", "ModelFileError", "as_file_errors"]

FORMAT = "lstmkit"
FORMAT_VERSION = 2  # 2: lstmkit.json lists every member (integrity.py); 1: no list, still read
METADATA = "lstmkit.json"
# Members a file of each kind must have, and pairs that come together (compile settings need the state).
REQUIRED_MEMBERS = {
    "model": ("model.json", "weights.json"),
    "weights": ("weights.json",),
    "backup": ("state.json", "training.json"),  # BackupAndRestore's files (backup_file.py)
}
TOGETHER = {"model": (("compile.json", "optimizer.json"),)}

MAX_MEMBERS = 200_000  # far more than any model has weights; parsing the directory stays cheap
MAX_DOCUMENT_BYTES = 64 << 20  # one JSON document (architecture configs are kilobytes)
MAX_NDIM = 32
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: no objects, strings, structs, complex

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")


class ModelFileError(ValueError):
    """A saved model or weights file that cannot be read: missing parts, truncated, corrupted, of a
    foreign format (HDF5, pickle, ...), or inconsistent with itself. ``path`` names the file."""

    def __init__(self, path, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(problem if f"'{self.path}'" in problem else f"Cannot load '{self.path}': {problem}")


@contextlib.contextmanager
def as_file_errors(path):
    """Around the reading of a file: any failure becomes a ``ModelFileError`` naming the file (with the
    original chained), so that no damaged file escapes as an OverflowError, a torch RuntimeError, ..."""
    try:
        yield
    except ModelFileError:
        raise
    except (Exception, RecursionError) as err:
        message = str(err) or type(err).__name__
        if isinstance(err, (OverflowError, MemoryError, RecursionError, ArithmeticError)):
            message = f"a value in it is out of range or too deep to use ({type(err).__name__}: {message})."
        raise ModelFileError(path, message) from err


# Writing the container: writing.py.


# ---------------------------------------------------------------------------- reading
def _end_of_archive(path: str, handle, size: int) -> tuple[int, int]:
    """(member count, central directory size) of a zip, checked (saving/keras reads Keras's zips with it)."""
    return end_of_archive(path, handle, size, MAX_MEMBERS)


_CORRUPT = (
    zipfile.BadZipFile,
    tokenize.TokenError,  # numpy parses .npy headers with the tokenizer
    zlib.error,
    EOFError,
    struct.error,
    OverflowError,
    UnicodeDecodeError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OSError,
)


class ArchiveReader:
    """Opens and checks a model archive; ``document(name)`` and ``array(name)`` read its members."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._check_path()
        self.size = os.path.getsize(self.path)
        if self.size == 0:
            raise ModelFileError(
                self.path,
                "the file is empty (0 bytes): the save that wrote it was interrupted, or it was truncated.",
            )
        self._handle = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._open_zip()
            self._read_member_list()
        except BaseException:
            self._handle.close()
            raise

    def _check_path(self) -> None:
        if os.path.isdir(self.path):
            raise ModelFileError(
                self.path,
                "it is a directory, not a model file (a TensorFlow SavedModel directory, written by Keras "
                "2's model.save('dir'), is a TensorFlow format that lstmkit does not read). Pass the path of "
                "a file written by model.save.",
            )
        if not os.path.exists(self.path):
            directory = os.path.dirname(self.path) or "."
            hint = ""
            if os.path.isdir(directory):
                hits = closest(os.path.basename(self.path), os.listdir(directory))
                if hits:
                    hint = (
                        " Did you mean "
                        + " or ".join(repr(os.path.join(os.path.dirname(self.path), h)) for h in hits)
                        + "?"
                    )
            raise FileNotFoundError(f"No such file: '{self.path}'.{hint}")

    def _open_zip(self) -> None:
        head = self._handle.read(16)
        foreign = describe_foreign(head)
        if foreign:
            raise ModelFileError(self.path, foreign)
        if not head.startswith(_ZIP_SIGNATURES):
            raise ModelFileError(
                self.path,
                f"it is not an lstmkit model file (it starts with {head[:8]!r}; files written by model.save "
                "and model.save_weights are zip archives).",
            )
        _end_of_archive(self.path, self._handle, self.size)
        self._handle.seek(0)
        try:
            self._zip = zipfile.ZipFile(self._handle, "r")
            infos = self._zip.infolist()
        except _CORRUPT as err:
            raise ModelFileError(self.path, f"the file is truncated or corrupted ({err}).") from None
        self._members = {}
        for info in infos:
            if info.filename in self._members:
                raise ModelFileError(
                    self.path, f"it has two members named {info.filename!r} (corrupted or crafted)."
                )
            self._members[info.filename] = info
        if METADATA not in self._members:  # told by the names alone: nothing is read
            raise ModelFileError(self.path, describe_foreign_zip(list(self._members)))
        for info in infos:  # only small JSON documents are compressed
            check_member(self.path, info, self.size, MAX_DOCUMENT_BYTES, "lstmkit files")
        stored_total = sum(info.file_size for info in infos if info.compress_type == zipfile.ZIP_STORED)
        if stored_total > self.size:
            raise ModelFileError(
                self.path,
                f"its members declare {stored_total:,} bytes of data in a file of {self.size:,} bytes "
                "(overlapping members: corrupted or a zip bomb).",
            )

    def _read_member_list(self) -> None:
        """The format version and (format 2) the member list, checked against the zip's members."""
        meta = self._parse(METADATA, self._raw(METADATA))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(
                self.path,
                f"{METADATA} does not describe an lstmkit file (format "
                f"{meta.get('format') if isinstance(meta, dict) else str(meta)[:100]!r}).",
            )
        version = meta.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelFileError(self.path, f"{METADATA} has an invalid format_version {version!r}.")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                self.path,
                f"it was written by a newer lstmkit (file format {version}; this lstmkit reads up to "
                f"{FORMAT_VERSION}). Upgrade lstmkit: pip install -U lstmkit.",
            )
        self.format_version, self.metadata = version, meta
        self._listed = None
        members = meta.get(integrity.MEMBERS_KEY)
        if version >= 2:
            problem = integrity.check_members(members, self._members, METADATA)
            if problem:
                raise ModelFileError(self.path, problem)
            self._listed = members
        elif members is not None:
            raise ModelFileError(
                self.path, f"{METADATA} says file format 1 but lists its members as format 2 does (edited)."
            )
        for name in REQUIRED_MEMBERS.get(meta.get("kind"), ()):
            if name not in self._members:
                raise ModelFileError(
                    self.path,
                    f"the member {name!r}, which every {meta['kind']} file has, is missing (the file is "
                    "incomplete, damaged or was edited).",
                )
        for pair in TOGETHER.get(meta.get("kind"), ()):
            present = [name for name in pair if name in self._members]
            if present and len(present) != len(pair):
                missing = [name for name in pair if name not in present]
                raise ModelFileError(
                    self.path,
                    f"it has {present} but not {missing}, which are always written together (the file "
                    "is incomplete, damaged or was edited).",
                )

    # ------------------------------------------------------------------ members
    def has(self, name: str) -> bool:
        return name in self._members

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._members[name]
        except KeyError:
            raise ModelFileError(
                self.path, f"the member {name!r} is missing (the file is incomplete or corrupted)."
            ) from None

    def _raw(self, name: str) -> bytes:
        info = self._info(name)
        if info.file_size > MAX_DOCUMENT_BYTES:
            raise ModelFileError(
                self.path, f"member {name!r} is {info.file_size:,} bytes, too large for a JSON document."
            )
        try:
            with self._zip.open(info) as member:
                return member.read(MAX_DOCUMENT_BYTES + 1)
        except (*_CORRUPT, RecursionError) as err:
            raise ModelFileError(
                self.path, f"member {name!r} is corrupted ({type(err).__name__}: {err})."
            ) from None

    def _parse(self, name: str, data: bytes):
        try:
            return json.loads(data.decode("utf-8"))
        except (*_CORRUPT, RecursionError) as err:
            raise ModelFileError(
                self.path, f"member {name!r} is corrupted ({type(err).__name__}: {err})."
            ) from None

    def _listing(self, name: str) -> dict | None:
        return None if self._listed is None else self._listed[name]

    def _check_digest(self, name: str, size: int, digest: str) -> None:
        entry = self._listing(name)
        if entry is not None and (size != entry["size"] or digest != entry["sha256"]):
            raise ModelFileError(
                self.path,
                f"member {name!r} does not match its SHA-256 in {METADATA}: its content was changed after "
                "it was written (edited or damaged).",
            )

    def document(self, name: str):
        """The parsed JSON member ``name``, checked against its listing."""
        data = self._raw(name)
        if name != METADATA:
            entry = integrity.document_entry(data)
            self._check_digest(name, entry["size"], entry["sha256"])
        return self._parse(name, data)

    def array(self, name: str) -> np.ndarray:
        """The ``.npy`` member ``name`` as a writable, native-byte-order array of plain numbers."""
        info = self._info(name)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(
                self.path, f"array member {name!r} is compressed; lstmkit stores arrays uncompressed."
            )
        entry = self._listing(name)
        if entry is not None and entry["size"] != info.file_size:
            raise ModelFileError(
                self.path,
                f"array member {name!r} has {info.file_size:,} bytes, but {METADATA} lists "
                f"{entry['size']:,} (edited or damaged).",
            )
        try:
            with self._zip.open(info) as stream:
                member = integrity.HashingReader(stream)
                array = self._read_npy(name, info, member, entry)
            self._check_digest(name, member.position, member.hexdigest())
            return array
        except ModelFileError:
            raise
        except (*_CORRUPT, SyntaxError, MemoryError) as err:
            raise ModelFileError(
                self.path, f"array member {name!r} is corrupted ({type(err).__name__}: {err})."
            ) from None

    def _read_npy(self, name, info, member, entry) -> np.ndarray:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(member)
        else:
            raise ModelFileError(
                self.path,
                f"array member {name!r} uses .npy format version {version}, which is only for structured "
                "data; model arrays are plain numbers.",
            )
        if (
            dtype.hasobject
            or dtype.fields is not None
            or dtype.subdtype is not None
            or dtype.kind not in NUMERIC_KINDS
        ):
            raise ModelFileError(
                self.path,
                f"array member {name!r} has dtype {dtype}; model arrays must be plain numbers (bool, integer "
                "or float). Object arrays are refused because they would need unpickling.",
            )
        if len(shape) > MAX_NDIM or any(not isinstance(d, int) or d < 0 for d in shape):
            raise ModelFileError(self.path, f"array member {name!r} declares an invalid shape {shape}.")
        problem = integrity.header_problem(name, shape, fortran, dtype, entry)
        if problem:
            raise ModelFileError(self.path, problem)
        data_bytes = math.prod(shape) * dtype.itemsize
        header_bytes = member.tell()  # the header is read; what is left must be exactly the data
        if header_bytes + data_bytes != info.file_size:
            raise ModelFileError(
                self.path,
                f"array member {name!r} declares shape {shape} of {dtype} ({data_bytes:,} bytes), which does "
                f"not match its stored size ({info.file_size - header_bytes:,} bytes): corrupted or "
                "truncated.",
            )
        array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        view = memoryview(array.reshape(-1, order="A")).cast("B") if data_bytes else memoryview(b"")
        filled = 0
        while filled < data_bytes:
            count = member.readinto(view[filled:])
            if not count:
                raise ModelFileError(self.path, f"array member {name!r} ends early (truncated).")
            filled += count
        if member.read(1):
            raise ModelFileError(self.path, f"array member {name!r} has trailing data (corrupted).")
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        return np.asarray(array, order="C")  # not ascontiguousarray: it makes a scalar weight 1-D

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._zip.close()
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
