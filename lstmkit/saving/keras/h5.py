"""Reading Keras's HDF5 files defensively, through h5py (the optional extra ``lstmkit[keras]``).

An HDF5 file can do more than hold arrays: a dataset may live in *other* files (external storage), be
assembled from other files (virtual datasets), or a name may be a link to another file (external link)
or to another place (soft link); a dataset may declare a shape far larger than the bytes behind it
(unwritten chunks, compression), and its filters may name plugins that load shared libraries. None of
that is ever needed by a Keras weights file, so ``H5Reader`` refuses all of it: it only walks hard
links, reads only datasets of plain numbers stored in the file itself, with built-in filters, whose
declared size is backed by the bytes stored. Every failure is a ``ModelFileError`` naming the file and
the object.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np

from lstmkit.saving.archive import MAX_DOCUMENT_BYTES, NUMERIC_KINDS, ModelFileError

__all__ = ["H5Reader", "require_h5py"]

# HDF5's built-in filters (deflate, shuffle, fletcher32, szip, nbit, scaleoffset) and h5py's lzf: any
# other filter id means a plugin, i.e. a shared library HDF5 would search for and load.
_BUILTIN_FILTERS = {1, 2, 3, 4, 5, 6, 32000}
# A dataset may expand beyond its stored bytes (compression, never-written chunks) only this much,
# once it is larger than the floor; Keras weights compress little.
_MAX_EXPANSION = 1000
_EXPANSION_FLOOR = 64 << 20
MAX_ATTRIBUTE_ENTRIES = 1_000_000


def require_h5py():
    """The h5py module, or an ImportError that names the extra to install."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Reading Keras's HDF5 files (.h5, .weights.h5, and the weights inside .keras files) needs h5py, "
            "an optional dependency of lstmkit. Install it with: pip install 'lstmkit[keras]'"
        ) from None
    return h5py


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8")
    return str(value)


class H5Reader:
    """An HDF5 file opened read-only for Keras weights: ``reader.group(path)``, ``reader.array(group, name)``,
    ``reader.attr_text(obj, name)``, ``reader.attr_list(obj, name)``. ``source`` is a path or bytes
    (``path`` then names the file in messages, e.g. the ``.keras`` archive holding them)."""

    def __init__(self, source, path=None, what: str = ""):
        h5py = require_h5py()
        self._h5py = h5py
        self.path = os.fspath(path if path is not None else source)
        self.what = what  # e.g. "model.weights.h5 inside it" for messages
        try:
            if isinstance(source, (bytes, bytearray)):
                self.size = len(source)
                self.file = h5py.File(io.BytesIO(source), "r")
            else:
                self.size = os.path.getsize(source)
                self.file = h5py.File(source, "r")
        except (OSError, ValueError) as err:
            raise self.error(f"it is not a readable HDF5 file (truncated or corrupted: {err}).") from None

    def error(self, problem: str) -> ModelFileError:
        where = f"{self.what}: " if self.what else ""
        return ModelFileError(self.path, where + problem)

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ navigation
    def _child(self, parent, name: str):
        """``parent[name]`` for a hard link only; None when there is no such member."""
        try:
            link = parent.get(name, getlink=True)
        except (KeyError, ValueError, OSError, RuntimeError) as err:
            raise self.error(f"the object {name!r} in {parent.name!r} cannot be read ({err}).") from None
        if link is None:
            return None
        if isinstance(link, self._h5py.ExternalLink):
            raise self.error(
                f"{parent.name.rstrip('/')}/{name} is a link to another file ({link.filename!r}); Keras files "
                "never link outside themselves, and following it could read any file on this machine."
            )
        if not isinstance(link, self._h5py.HardLink):
            raise self.error(
                f"{parent.name.rstrip('/')}/{name} is a {type(link).__name__}; Keras files only hold plain "
                "groups and datasets."
            )
        try:
            return parent[name]
        except (KeyError, ValueError, OSError, RuntimeError) as err:
            raise self.error(f"the object {name!r} in {parent.name!r} cannot be read ({err}).") from None

    def get(self, path: str, parent=None):
        """The object at the relative ``path`` (components separated by '/'), or None if it is missing."""
        node = self.file if parent is None else parent
        for part in [p for p in path.split("/") if p]:
            if not isinstance(node, self._h5py.Group):
                return None
            node = self._child(node, part)
            if node is None:
                return None
        return node

    def group(self, path: str, parent=None):
        node = self.get(path, parent)
        return node if isinstance(node, self._h5py.Group) else None

    def members(self, group) -> list[str]:
        try:
            return list(group.keys())
        except (OSError, RuntimeError, ValueError) as err:
            raise self.error(f"the group {group.name!r} cannot be listed ({err}).") from None

    def value_count(self) -> int:
        """How many numbers the file's datasets declare (read from their headers only)."""
        total = 0

        def count(_name, node):
            nonlocal total
            if isinstance(node, self._h5py.Dataset) and node.shape is not None:
                total += int(np.prod(node.shape, dtype=np.int64))

        try:
            self.file.visititems(count)  # visits hard links only: soft and external links are not followed
        except (OSError, RuntimeError, ValueError, KeyError) as err:
            raise self.error(f"its groups cannot be listed ({err}).") from None
        return total

    def is_dataset(self, node) -> bool:
        return isinstance(node, self._h5py.Dataset)

    # ------------------------------------------------------------------ attributes
    def attr(self, obj, name: str):
        try:
            return obj.attrs.get(name, None)
        except (OSError, RuntimeError, ValueError, TypeError) as err:
            raise self.error(f"the attribute {name!r} of {obj.name!r} cannot be read ({err}).") from None

    def attr_text(self, obj, name: str) -> str | None:
        value = self.attr(obj, name)
        if value is None:
            return None
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if not isinstance(value, (str, bytes, np.bytes_)):
            raise self.error(f"the attribute {name!r} of {obj.name!r} is not text.")
        text = _text(value)
        if len(text) > MAX_DOCUMENT_BYTES:
            raise self.error(
                f"the attribute {name!r} of {obj.name!r} is too large ({len(text):,} characters)."
            )
        return text

    def attr_json(self, obj, name: str):
        text = self.attr_text(obj, name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as err:
            raise self.error(f"the attribute {name!r} is not valid JSON ({err}).") from None

    def attr_list(self, obj, name: str) -> list[str] | None:
        """A list-of-names attribute; Keras splits long ones into ``name0``, ``name1``, ... (HDF5 limits an
        attribute to 64 KiB)."""
        values = self.attr(obj, name)
        if values is None and self.attr(obj, f"{name}0") is not None:
            values, index = [], 0
            while (chunk := self.attr(obj, f"{name}{index}")) is not None:
                values.extend(np.atleast_1d(chunk).tolist())
                index += 1
        if values is None:
            return None
        values = np.atleast_1d(values)
        if values.size > MAX_ATTRIBUTE_ENTRIES:
            raise self.error(f"the attribute {name!r} of {obj.name!r} lists {values.size:,} entries.")
        if values.size and values.dtype.kind not in "SUO":
            raise self.error(f"the attribute {name!r} of {obj.name!r} is not a list of names.")
        return [_text(v) for v in values.tolist()]

    # ------------------------------------------------------------------ datasets
    def array(self, dataset, label: str | None = None) -> np.ndarray:
        """The values of ``dataset`` as a native-byte-order NumPy array, after the checks above."""
        label = label or dataset.name
        try:
            if dataset.external:
                raise self.error(
                    f"the dataset {label!r} keeps its values in external file(s) {dataset.external!r}; a "
                    "Keras file holds its values itself, and reading them could read any file on this machine."
                )
            if dataset.is_virtual:
                raise self.error(
                    f"the dataset {label!r} is a virtual dataset assembled from other files; Keras files "
                    "never contain one."
                )
            dtype = dataset.dtype
            if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
                raise self.error(f"the dataset {label!r} has dtype {dtype}; weights must be plain numbers.")
            shape = dataset.shape
            if shape is None or len(shape) > 32:
                raise self.error(f"the dataset {label!r} has an invalid shape {shape}.")
            plist = dataset.id.get_create_plist()
            for index in range(plist.get_nfilters()):
                code = plist.get_filter(index)[0]
                if code not in _BUILTIN_FILTERS:
                    raise self.error(
                        f"the dataset {label!r} needs HDF5 filter plugin #{code}; lstmkit reads only HDF5's "
                        "built-in filters (a plugin is a shared library HDF5 would load)."
                    )
            declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
            stored = dataset.id.get_storage_size()
            if stored > self.size:
                raise self.error(
                    f"the dataset {label!r} claims {stored:,} stored bytes in a file of {self.size:,} bytes "
                    "(truncated or corrupted)."
                )
            if declared > _EXPANSION_FLOOR and declared > _MAX_EXPANSION * max(stored, 1):
                raise self.error(
                    f"the dataset {label!r} declares shape {tuple(shape)} ({declared:,} bytes) but stores only "
                    f"{stored:,} bytes; refusing an oversized array (corrupted or crafted to exhaust memory)."
                )
            value = np.asarray(dataset[()])
        except ModelFileError:
            raise
        except (OSError, RuntimeError, ValueError, TypeError, KeyError, MemoryError) as err:
            raise self.error(f"the dataset {label!r} cannot be read ({type(err).__name__}: {err}).") from None
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        return np.array(value, order="C")  # (np.ascontiguousarray would turn a scalar into shape (1,))
