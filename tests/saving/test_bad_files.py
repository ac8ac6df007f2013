"""Files that are not whole, well-formed lstmkit files get a clear error naming the file and the problem:
never a crash of another kind, a hang, or code execution. Saves are atomic."""

import copy
import importlib.util
import os
import pickle
import zipfile

import numpy as np
import pytest

from lstmkit import layers
from lstmkit.models import Sequential, load_model
from lstmkit.saving import ModelFileError, archive, writing
from tests.reliability.edit import members as _members
from tests.reliability.edit import npy as _npy
from tests.reliability.edit import rewrite

from .cases import FEATURES, TIMESTEPS, data


@pytest.fixture
def saved(tmp_path):
    """A small compiled, trained model saved to model.keras; returns (model, path)."""
    model = Sequential([layers.LSTM(3, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(*data(n=8), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    return model, path


def _rewrite(src, dst, replace=None, drop=(), compress=None):
    """Copy the archive ``src`` to ``dst`` with members replaced ({name: bytes}) or dropped, and its member
    list fixed to match (as someone who knows the format would): the checks past the list are tested."""
    return rewrite(src, dst, replace, drop, compress=compress, relist=True)


def _refused(path, match):
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)
    return info.value


# ---------------------------------------------------------------------------- atomic writes
def test_a_crash_mid_save_leaves_the_previous_file_untouched(tmp_path, saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    calls = []

    def failing_write(handle, array):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        np.lib.format.write_array(handle, array, allow_pickle=False)

    monkeypatch.setattr(writing, "_write_array", failing_write)
    model.layers[1].set_weights([w + 1 for w in model.layers[1].get_weights()])
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temporary file left behind
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "new.keras")
    assert not (tmp_path / "new.keras").exists()
    monkeypatch.undo()
    load_model(path)  # still the old, complete file


# ---------------------------------------------------------------------------- not a model file at all
def test_missing_path_empty_file_and_directory(tmp_path, saved):
    with pytest.raises(FileNotFoundError, match=r"No such file.*modle\.keras.*Did you mean.*model\.keras"):
        load_model(tmp_path / "modle.keras")
    (tmp_path / "empty.keras").write_bytes(b"")
    _refused(tmp_path / "empty.keras", r"empty \(0 bytes\)")
    (tmp_path / "dir.keras").mkdir()
    _refused(tmp_path / "dir.keras", "is a directory")


def test_an_hdf5_file_without_a_keras_model_is_refused_with_a_way_forward(tmp_path):
    """Keras's HDF5 models open (tests/saving/keras); an HDF5 file without a model config does not."""
    path = tmp_path / "keras_model.h5"
    if importlib.util.find_spec("h5py") is None:  # without h5py the error names the extra to install
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(2048))
        with pytest.raises(ImportError, match=r"lstmkit\[keras\]"):
            load_model(path)
        return
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.create_dataset("model_weights/dense/kernel", data=np.ones((3, 2)))
    _refused(path, r"HDF5 file without a Keras model config.*model\.load_weights")


class _Boom:
    """Unpickling this would create a marker file: proof that no code ran."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_pickle_is_refused_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    _Boom.marker = marker
    path = tmp_path / "model.h5"
    path.write_bytes(pickle.dumps(_Boom(), protocol=protocol))
    _refused(path, r"pickle.*arbitrary code")
    assert not marker.exists()


def test_a_torch_save_zip_with_a_pickle_inside_is_refused(tmp_path):
    import torch

    marker = tmp_path / "pwned"
    _Boom.marker = marker
    path = tmp_path / "model.pt"
    torch.save({"weights": torch.ones(2), "boom": _Boom()}, path)
    marker.unlink(missing_ok=True)  # torch.save itself does not run __reduce__'s result, but be sure
    _refused(path, r"torch\.save.*pickle")
    assert not marker.exists()


def test_other_foreign_files(tmp_path, saved):
    model, _ = saved
    (tmp_path / "arch.json").write_text(model.to_json())
    _refused(tmp_path / "arch.json", "model_from_json")
    (tmp_path / "text.keras").write_bytes(b"hello, this is not a model")
    _refused(tmp_path / "text.keras", "not an lstmkit model file")
    np.savez(tmp_path / "w.npz", *model.get_weights())
    _refused(tmp_path / "w.npz", r"NumPy \.npz")
    with zipfile.ZipFile(tmp_path / "keras3.keras", "w") as z:  # the layout of Keras 3's own files
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    _refused(tmp_path / "keras3.keras", r"config\.json is not a Keras model config")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hi")
    _refused(tmp_path / "other.zip", r"zip archive but not an lstmkit model file.*readme\.txt")


# ---------------------------------------------------------------------------- damaged files
def test_truncated_files_are_reported_as_truncated_or_corrupted(tmp_path, saved):
    _, path = saved
    content = path.read_bytes()
    cut = tmp_path / "cut.keras"
    for length in sorted(
        {
            1,
            4,
            30,
            100,
            len(content) // 3,
            len(content) // 2,
            len(content) - 200,
            len(content) - 23,
            len(content) - 1,
        }
    ):
        cut.write_bytes(content[:length])
        _refused(cut, r"truncated|corrupted|not an lstmkit")


def test_random_damage_never_escapes_as_another_error(tmp_path, saved):
    model, path = saved
    content = bytearray(path.read_bytes())
    x, _ = data(n=4)
    expected = model.predict(x, verbose=0)
    rng = np.random.default_rng(0)
    damaged = tmp_path / "damaged.keras"
    refused = 0
    for position in rng.choice(len(content), size=40, replace=False):
        copy = bytearray(content)
        copy[position] ^= 0xFF
        damaged.write_bytes(bytes(copy))
        try:
            loaded = load_model(damaged)
        except ModelFileError as err:
            refused += 1
            assert str(damaged) in str(err)
            continue
        # A byte the format does not check (e.g. a timestamp) changed: the model must still be exact.
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
    assert refused >= 25, refused  # most bytes are checked (CRC, structure); a few (timestamps) are not


def test_a_corrupted_array_is_caught_by_its_checksum(tmp_path, saved):
    _, path = saved
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("weights/0.npy")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    content[data_start] ^= 0x01
    (damaged := path.with_name("crc.keras")).write_bytes(bytes(content))
    _refused(damaged, r"weights/0\.npy.*(CRC|corrupted)")


# ---------------------------------------------------------------------------- hostile archives
def test_a_zip_bomb_is_refused_before_anything_is_expanded(tmp_path, saved, monkeypatch):
    _, path = saved
    monkeypatch.setattr(
        archive, "MAX_DOCUMENT_BYTES", 8 << 20
    )  # the real limit is 64 MiB: keep the test fast
    bomb = tmp_path / "bomb.keras"
    members = _members(path)
    with zipfile.ZipFile(bomb, "w") as z:
        for name, (content, method) in members.items():
            z.writestr(zipfile.ZipInfo(name), content, compress_type=method)
        info = zipfile.ZipInfo("zeros.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as member:  # 16 MiB of zeros, ~16 KB on disk
            chunk = b"\0" * (1 << 20)
            for _ in range(16):
                member.write(chunk)
    assert bomb.stat().st_size < 100_000
    _refused(bomb, "zip bomb")


def test_hostile_member_counts_and_overlapping_members_are_refused(tmp_path, saved, monkeypatch):
    _, path = saved
    monkeypatch.setattr(archive, "MAX_MEMBERS", 5)  # checked from the end record, before zipfile parses
    _refused(path, r"declares \d+ members")
    monkeypatch.undo()

    # Directory entries that all point at the same stored bytes (a "overlapping files" zip bomb).
    overlapping = tmp_path / "overlap.keras"
    with zipfile.ZipFile(overlapping, "w") as z:
        for name, (content, method) in _members(path).items():
            z.writestr(zipfile.ZipInfo(name), content, compress_type=method)
        stored = [info for info in z.infolist() if info.compress_type == zipfile.ZIP_STORED]
        biggest = max(stored, key=lambda info: info.file_size)
        for i in range(200):
            duplicate = copy.copy(biggest)
            duplicate.filename = duplicate.orig_filename = f"copy{i}.npy"
            z.filelist.append(duplicate)
    _refused(overlapping, "overlapping members")


def test_arrays_must_be_plain_numbers_that_match_their_listing(tmp_path, saved):
    _, path = saved
    object_array = np.empty(3, dtype=object)
    # In a format-1 file (no member list) the .npy header itself is checked; a format-2 list cannot
    # even name such dtypes.
    for name, array, match in [
        ("obj", object_array, r"weights/0\.npy.*dtype object"),
        ("str", np.array(["a", "b"]), r"dtype <U1.*plain numbers"),
        ("complex", np.ones(3, np.complex64), "plain numbers"),
    ]:
        replace = {"weights/0.npy": _npy(array, allow_pickle=True)}
        _refused(rewrite(path, tmp_path / f"{name}1.keras", replace, format1=True), match)
        _refused(_rewrite(path, tmp_path / f"{name}2.keras", replace), "malformed")
    _refused(
        _rewrite(path, tmp_path / "shape.keras", {"weights/0.npy": _npy(np.ones((2, 2), np.float32))}),
        r"listed with shape",
    )
    short = _npy(np.ones((3, 12), np.float32))[:-8]
    _refused(
        _rewrite(path, tmp_path / "short.keras", {"weights/0.npy": short}), "does not match its stored size"
    )
    _refused(_rewrite(path, tmp_path / "deflated.keras", {}, compress=zipfile.ZIP_DEFLATED), "compressed")


def test_malformed_documents(tmp_path, saved):
    _, path = saved
    _refused(_rewrite(path, tmp_path / "a.keras", {"model.json": b"{not json"}), r"model\.json.*corrupted")
    _refused(
        _rewrite(path, tmp_path / "b.keras", {"weights.json": b'{"layers": 3}'}),
        r"weights\.json is malformed",
    )
    _refused(
        _rewrite(
            path,
            tmp_path / "c.keras",
            {
                "weights.json": b'{"layers": [{"layer": "x", "class_name": "LSTM",'
                b' "weights": [{"name": "k", "shape": [3, 12], '
                b'"dtype": "float32", "file": "../../etc"}]}]}'
            },
        ),
        r"missing or repeated member",
    )
    _refused(_rewrite(path, tmp_path / "d.keras", drop=["weights/1.npy"]), r"weights/1\.npy")
    _refused(
        _rewrite(
            path,
            tmp_path / "e.keras",
            {
                "model.json": b'{"class_name": "Sequential", "config": '
                b'{"layers": [{"class_name": "Evil", "config": {}}]}}'
            },
        ),
        r"architecture cannot be rebuilt.*Evil.*custom_objects",
    )
    _refused(
        _rewrite(
            path,
            tmp_path / "f.keras",
            {
                "model.json": b'{"class_name": "Sequential", "config": '
                b'{"layers": [{"class_name": "Dense", "config": '
                b'{"units": -3}}]}}'
            },
        ),
        r"architecture cannot be rebuilt.*units",
    )
    _refused(
        _rewrite(
            path,
            tmp_path / "g.keras",
            {"lstmkit.json": b'{"format": "lstmkit", "format_version": 99, "kind": "model"}'},
        ),
        r"newer lstmkit.*Upgrade",
    )
    _refused(
        _rewrite(path, tmp_path / "h.keras", {"lstmkit.json": b"[" * 100_000}), r"lstmkit\.json.*corrupted"
    )
    _refused(
        _rewrite(
            path,
            tmp_path / "i.keras",
            {"optimizer.json": b'{"class_name": "SGD", "scalars": {"iterations": 1}, "params": []}'},
        ),
        r"optimizer\.json.*SGD",
    )
