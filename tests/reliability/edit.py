"""Editing model files as a tool or an attacker would: rewrite the zip with members replaced, dropped
or renamed, with or without fixing the member list in lstmkit.json (``relist``)."""

import hashlib
import io
import json
import zipfile

import numpy as np

METADATA = "lstmkit.json"


def members(path) -> dict:
    """{name: (bytes, compress_type)} in the archive's order."""
    with zipfile.ZipFile(path) as z:
        return {info.filename: (z.read(info.filename), info.compress_type) for info in z.infolist()}


def npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def listing(name: str, content: bytes) -> dict:
    """The member-list entry lstmkit would write for ``content`` (arrays: from their .npy header)."""
    entry = {"size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    if name.endswith(".npy"):
        try:
            stream = io.BytesIO(content)
            version = np.lib.format.read_magic(stream)
            read_header = np.lib.format.read_array_header_1_0
            if version != (1, 0):
                read_header = np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(stream)
            order = {"<": "little", ">": "big", "|": "none", "=": "little"}[dtype.byteorder]
            if dtype.itemsize == 1:
                order = "none"
            entry.update(dtype=dtype.name, byte_order=order, order="F" if fortran else "C", shape=list(shape))
        except Exception:  # noqa: BLE001 - not a readable header: list it as lstmkit would a float array
            entry.update(dtype="float32", byte_order="little", order="C", shape=[0])
    return entry


def rewrite(
    src, dst, replace=None, drop=(), rename=None, compress=None, relist=True, metadata=None, format1=False
):
    """Copy the archive ``src`` to ``dst`` with members replaced ({name: bytes}), dropped or renamed
    ({old: new}). ``relist``: also fix lstmkit.json's member list, as someone who knows the format would;
    ``metadata``: a dict merged into lstmkit.json; ``format1``: make it a format-1 file (no member list),
    whose reader relies on the checks that need no list."""
    content = members(src)
    replace, rename = dict(replace or {}), dict(rename or {})
    out = {}
    for name, (data, method) in content.items():
        if name in drop:
            continue
        out[rename.get(name, name)] = (replace.get(name, data), compress or method)
    for name, data in replace.items():
        if name not in content:
            out[name] = (data, compress or zipfile.ZIP_DEFLATED)
    if METADATA in out and (relist or metadata or format1) and METADATA not in replace:
        meta = json.loads(out[METADATA][0])
        if format1:
            meta.pop("members", None)
            meta["format_version"] = 1
        elif relist and "members" in meta:
            meta["members"] = {
                name: listing(name, data) for name, (data, _) in out.items() if name != METADATA
            }
        meta.update(metadata or {})
        out[METADATA] = (json.dumps(meta).encode(), out[METADATA][1])
    with zipfile.ZipFile(dst, "w") as z:
        for name, (data, method) in out.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            z.writestr(info, data)
    return dst
