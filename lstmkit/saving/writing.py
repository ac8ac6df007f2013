"""Writing the one-file container (see archive.py for the format): atomically, deterministically.

Everything goes to a temporary file in the target's directory, flushed and fsync'ed, then
``os.replace``'d over the target, so a crash or a kill mid-save never leaves a half-written file under
the target name. The writer lists every member it writes (size, SHA-256, array layout) in
``lstmkit.json``, which it writes last (integrity.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import time
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from lstmkit.saving import integrity

__all__ = ["ArchiveWriter", "atomic_write", "check_directory", "check_target", "json_default"]

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # members carry no timestamp: the same model gives the same bytes


def _open_exclusive(path: str):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(path, flags, 0o666)  # the umask applies, as for any file the user creates


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.tmp")
_ORPHAN_AGE = 600.0  # seconds: a temporary file with no writer process recorded is surely abandoned by then


def _explain(error: OSError, path: str, directory: str) -> str:
    """Why ``path`` cannot be written, in words that name the target, not a temporary file."""
    code = error.errno
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = directory
        while blocker and not os.path.exists(blocker):
            blocker = os.path.dirname(blocker)
        return f"'{blocker}' is a file, not a directory, so no file can be created under it"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: the directory '{directory}' is not writable by this user"
    if code == errno.EROFS:
        return f"'{directory}' is on a read-only file system"
    if code == errno.ENOSPC:
        return f"no space is left on the device of '{directory}'"
    if code == errno.ENOENT:
        return f"the directory '{directory}' does not allow creating files ({error.strerror})"
    return error.strerror or str(error)


def check_target(path, what: str = "the file") -> str:
    """Check now that ``path`` (a file to be written later) can be written: a directory that can hold it
    exists or can be created, and a file can be created in it. Raises an OSError naming ``path`` and the
    reason; returns the absolute path. Used by model saving and by callbacks at ``on_train_begin``."""
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR,
            f"Cannot write {what} to '{path}': it is a directory. Give a file name, e.g. "
            f"'{os.path.join(path, 'model.keras')}'.",
        )
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f".lstmkit-write-check.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        os.close(_open_exclusive(probe))
        os.unlink(probe)
    except OSError as error:
        code = errno.ENOTDIR if error.errno == errno.EEXIST else error.errno  # makedirs met a file
        raise OSError(
            code, f"Cannot write {what} to '{path}': {_explain(error, path, directory)}."
        ) from error
    return path


def check_directory(directory, what: str = "the log directory") -> str:
    """``check_target`` for a directory that files will be written into."""
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(
            errno.ENOTDIR, f"Cannot write {what} to '{directory}': it is a file, not a directory."
        )
    check_target(os.path.join(directory, "x"), what)
    return directory


def _remove_orphans(directory: str, name: str) -> None:
    """Delete the temporary files that saves to ``name`` left behind when their process was killed: those
    of a process that no longer exists (this machine), or, without a recorded process, old ones."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry)
        if match is None or match["name"] != name:
            continue
        full = os.path.join(directory, entry)
        pid = match["pid"]
        try:
            if pid is not None:
                if int(pid) == os.getpid() or _alive(int(pid)):
                    continue
            elif now - os.path.getmtime(full) < _ORPHAN_AGE:
                continue
            os.unlink(full)
        except OSError:
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists (another user's); otherwise it cannot be told
        return True  # either way, leave its file alone
    return True


@contextlib.contextmanager
def atomic_write(path, overwrite: bool = True):
    """Yield a binary file object; on success its content replaces ``path`` in one step.

    The data goes to a hidden temporary file beside ``path`` (same file system, so the final
    ``os.replace`` is atomic), is fsync'ed, then renamed; on any error the temporary file is removed
    and ``path`` is untouched. A process killed outright leaves the hidden ``.<name>.<pid>-<hex>.tmp``
    file behind, never a partial ``path``; the next save to ``path`` removes it.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot save to '{path}': it is a directory. Give a file name, e.g. "
            f"'{os.path.join(path, 'model.keras')}'."
        )
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"'{path}' already exists and overwrite=False. Pass overwrite=True to replace it, or choose "
            "another name."
        )
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    while True:
        temporary = os.path.join(directory, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            os.makedirs(directory, exist_ok=True)
            fd = _open_exclusive(temporary)
            break
        except FileExistsError:
            if os.path.isdir(directory):
                continue  # a name collision of the temporary file: draw another
            raise OSError(
                errno.ENOTDIR,
                f"Cannot save to '{path}': {_explain(OSError(errno.ENOTDIR, ''), path, directory)}.",
            ) from None
        except OSError as error:
            raise OSError(
                error.errno, f"Cannot save to '{path}': {_explain(error, path, directory)}."
            ) from error
    _remove_orphans(directory, name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_array(handle, array: np.ndarray) -> None:
    npy_format.write_array(handle, array, allow_pickle=False)


class ArchiveWriter:
    """Adds JSON documents and arrays to a zip archive being written to ``handle``.

    The metadata document (``lstmkit.json``) is held back and written by ``close``, with the list of
    every other member (``integrity.MEMBERS_KEY``) added."""

    metadata_name = "lstmkit.json"

    def __init__(self, handle):
        self._zip = zipfile.ZipFile(handle, "w", allowZip64=True)
        self._metadata = None
        self.members: dict = {}

    def document(self, name: str, value) -> None:
        if name == self.metadata_name:
            self._metadata = dict(value)
            return
        self.members[name] = integrity.document_entry(self._write_document(name, value))

    def _write_document(self, name: str, value) -> bytes:
        data = json.dumps(value, default=json_default, indent=1).encode("utf-8")
        info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)
        return data

    def array(self, name: str, array: np.ndarray) -> None:
        array = np.asarray(array, order="C")  # not ascontiguousarray: it makes a scalar weight 1-D
        if integrity.byte_order(array.dtype) == "big":  # one layout in every file, whatever the machine
            array = array.astype(array.dtype.newbyteorder("<"))
        info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_STORED  # weights hardly compress; stored keeps reads bounded
        with self._zip.open(info, "w", force_zip64=array.nbytes > (1 << 30)) as member:
            hashing = integrity.HashingWriter(member)
            _write_array(hashing, array)
        self.members[name] = integrity.array_entry(array, hashing.size, hashing.hexdigest())

    def close(self) -> None:
        if self._metadata is not None:
            self._write_document(self.metadata_name, {**self._metadata, integrity.MEMBERS_KEY: self.members})
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.close()
        else:  # the temporary file is being discarded: just release the zip quietly, keep the first error
            with contextlib.suppress(Exception):
                self._zip.close()


def json_default(value):
    """JSON for the NumPy scalars and tuples that configs may hold; a clear TypeError otherwise."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(
        f"Cannot save a value of type {type(value).__name__} ({value!r}) in a model config: configs must "
        "hold numbers, strings, booleans, None, lists and dicts. If it comes from your own layer's "
        "get_config(), return a plain value there (and rebuild the object in from_config)."
    )
