"""Shared by the Keras-file tests: the committed fixtures (written by real Keras, see make_fixtures.py), their
reference outputs, and small editors that make tampered copies of them."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
SEQUENTIAL = ["lstm", "gru", "gru_reset_before", "bidirectional", "stacked", "embedding", "masking"]
KINDS = {"keras": "k3", "k3.h5": "k3", "tfk2.h5": "tfk2"}  # file suffix -> the Keras that wrote it


def fixture(name: str, kind: str) -> Path:
    return FIXTURES / (f"{name}.keras" if kind == "keras" else f"{name}.{kind}")


def reference(name: str, flavour: str):
    """The inputs (one array, or a list for several inputs) and the npz of what Keras computed."""
    ref = np.load(FIXTURES / f"{name}.{flavour}.npz")
    xs = [ref[k] for k in sorted(ref.files) if k.startswith("x")]
    return (xs[0] if len(xs) == 1 else xs), ref


def copy(name: str, kind: str, tmp_path: Path) -> Path:
    target = tmp_path / fixture(name, kind).name
    shutil.copy(fixture(name, kind), target)
    return target


def edit_keras_config(src: Path, dst: Path, change) -> Path:
    """A copy of the .keras file ``src`` whose config.json went through ``change(config)`` (in place)."""
    with zipfile.ZipFile(src) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return dst


def edit_h5_config(path: Path, change) -> Path:
    """The legacy .h5 file at ``path`` with its model_config attribute passed through ``change`` (in place)."""
    import h5py

    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        change(config)
        f.attrs["model_config"] = json.dumps(config)
    return path


def layer_config(config: dict, name: str) -> dict:
    """The config dict of the layer called ``name`` inside a (Sequential or functional) model config."""
    layers = config["config"]["layers"]
    return next(layer["config"] for layer in layers if layer["config"].get("name") == name)
