"""Keras files are an attack surface: tampered ones are refused with a ModelFileError naming the file and the
problem, and nothing in a file is ever run, imported or followed outside it."""

import base64
import json
import marshal
import sys
import zipfile

import h5py
import numpy as np
import pytest

from lstmkit.layers import Layer
from lstmkit.models import load_model
from lstmkit.saving import ModelFileError

from .helpers import FIXTURES, copy, edit_h5_config, edit_keras_config, fixture, layer_config, reference

KERNEL = "model_weights/lstm/lstm/lstm_cell/kernel:0"  # in lstm.tfk2.h5


def refused(path, match, **kwargs):
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


# ---------------------------------------------------------------------------- code in configs
def _keras3_lambda_code():
    with zipfile.ZipFile(FIXTURES / "lambda.keras") as archive:
        config = json.loads(archive.read("config.json"))
    return layer_config(config, "double")["function"]["config"]["code"]


def _tfkeras2_lambda_code():
    with h5py.File(FIXTURES / "lambda.tfk2.h5") as f:
        config = json.loads(f.attrs["model_config"])
    return layer_config(config, "double")["function"][0]


LAMBDA_CODE = {"lambda.keras": _keras3_lambda_code, "lambda.tfk2.h5": _tfkeras2_lambda_code}


@pytest.mark.parametrize("filename", ["lambda.keras", "lambda.tfk2.h5"])
def test_a_lambda_layer_bytecode_is_never_unmarshalled(filename, monkeypatch):
    bytecode = base64.b64decode(LAMBDA_CODE[filename]())
    original = marshal.loads

    def trap(data, *args, **kwargs):  # (imports unmarshal .pyc files: only the file's bytecode is trapped)
        if bytes(data) == bytecode:
            raise AssertionError("marshal.loads was called on the file's bytecode")
        return original(data, *args, **kwargs)

    monkeypatch.setattr(marshal, "loads", trap)
    error = refused(
        FIXTURES / filename,
        r"layer 'double' \(Lambda\).*bytecode.*never unmarshals.*custom_objects=\{'double'",
    )
    assert "load_weights" in str(error)


def test_safe_mode_false_does_not_unlock_bytecode():
    refused(FIXTURES / "lambda.keras", r"safe_mode=False does not change that", safe_mode=False)


@pytest.mark.parametrize(("filename", "flavour"), [("lambda.keras", "k3"), ("lambda.tfk2.h5", "tfk2")])
def test_a_lambda_function_can_be_passed(filename, flavour):
    def double(t):
        return t * 2.0

    x, ref = reference("lambda", flavour)
    model = load_model(FIXTURES / filename, custom_objects={"double": double})
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=1e-5, rtol=0)


class Double(Layer):
    """What the Keras fixture's ``Lambda(lambda t: t * 2.0)`` computes, written as a layer."""

    def call(self, inputs):
        return inputs * 2.0


@pytest.mark.parametrize(("filename", "flavour"), [("lambda.keras", "k3"), ("lambda.tfk2.h5", "tfk2")])
def test_a_lambda_can_be_replaced_by_a_layer_class(filename, flavour):
    x, ref = reference("lambda", flavour)
    model = load_model(FIXTURES / filename, custom_objects={"double": Double})
    assert type(model.layers[0]) is Double
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=1e-5, rtol=0)


def test_module_fields_are_never_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evil_keras_module.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def point_at_module(config):
        for layer in config["config"]["layers"]:
            layer["module"] = "evil_keras_module"
            layer["registered_name"] = "evil_keras_module>LSTM"
        config["module"] = "evil_keras_module"

    path = edit_keras_config(fixture("lstm", "keras"), tmp_path / "module.keras", point_at_module)
    x, ref = reference("lstm", "k3")
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0), ref["predicted"], atol=1e-5)
    assert not marker.exists() and "evil_keras_module" not in sys.modules


def test_an_unknown_class_is_refused_with_a_suggestion(tmp_path):
    def rename(config):
        config["config"]["layers"][1]["class_name"] = "LSTMM"

    path = edit_keras_config(fixture("lstm", "keras"), tmp_path / "unknown.keras", rename)
    refused(
        path, r"layer 'lstm' \(LSTMM\).*class that lstmkit does not know.*Did you mean 'LSTM'.*custom_objects"
    )
    h5 = edit_h5_config(copy("lstm", "tfk2.h5", tmp_path), rename)
    refused(h5, r"'LSTMM'.*custom_objects=\{'LSTMM': LSTMM\}")


def test_a_subclassed_model_is_refused(tmp_path):
    def subclass(config):
        config["class_name"] = "MyForecaster"

    path = edit_keras_config(fixture("lstm", "keras"), tmp_path / "sub.keras", subclass)
    refused(path, r"config\.json describes a 'MyForecaster' model: a subclassed Keras model.*load_weights")


# ---------------------------------------------------------------------------- configs lstmkit cannot honour
def test_unknown_keys_name_the_file_layer_and_key(tmp_path):
    def add_key(config):
        layer_config(config, "lstm")["frobnicate"] = 3

    path = edit_h5_config(copy("lstm", "tfk2.h5", tmp_path), add_key)
    refused(path, r"layer 'lstm' \(LSTM\) has the config key 'frobnicate'.*refuses it rather than ignore it")


def test_weight_constraints_in_a_keras_file_are_kept(tmp_path):
    from lstmkit import constraints
    from lstmkit.models import load_model

    def change(config):
        layer_config(config, "lstm")["kernel_constraint"] = {
            "module": "keras.constraints",
            "class_name": "MaxNorm",
            "config": {"max_value": 2.0, "axis": 0},
            "registered_name": None,
        }

    model = load_model(edit_h5_config(copy("lstm", "tfk2.h5", tmp_path), change), compile=False)
    constraint = model.get_layer("lstm").cell.kernel_constraint
    assert isinstance(constraint, constraints.MaxNorm) and constraint.max_value == 2.0


@pytest.mark.parametrize(
    ("key", "value"), [("time_major", True), ("gamma_constraint", {"class_name": "MaxNorm", "config": {}})]
)
def test_settings_lstmkit_lacks_are_refused_unless_neutral(tmp_path, key, value):
    def change(config):
        layer_config(config, "lstm")[key] = value

    path = edit_h5_config(copy("lstm", "tfk2.h5", tmp_path), change)
    refused(path, rf"layer 'lstm' \(LSTM\) sets {key}=.*does not support")


def test_an_architecture_larger_than_the_file_is_refused_before_allocating(tmp_path):
    def grow(config):
        layer_config(config, "lstm")["units"] = 30000  # 14 GB of weights in a file of 30 kB

    path = edit_h5_config(copy("lstm", "tfk2.h5", tmp_path), grow)
    refused(
        path, r"asks for [\d,]+ weight values, but the file holds only [\d,]+: a size in its model_config"
    )


def test_optimizer_settings_lstmkit_lacks_say_how_to_load_anyway(tmp_path):
    def ema(config):
        config["compile_config"]["optimizer"]["config"]["use_ema"] = True

    path = edit_keras_config(fixture("lstm", "keras"), tmp_path / "ema.keras", ema)
    refused(path, r"use_ema=True.*compile=False")
    assert load_model(path, compile=False).optimizer is None


# ---------------------------------------------------------------------------- HDF5 tricks
def test_an_external_dataset_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(48, dtype="<f4").tobytes())  # would load "fine" if it were followed
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(3, 16), dtype="<f4", external=[(str(secret), 0, 192)])
    refused(path, r"kernel:0.*external file\(s\).*secret\.bin")


def test_links_out_of_the_file_are_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("kernel", data=np.zeros((3, 16), "f4"))
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f[KERNEL] = h5py.ExternalLink(str(other), "/kernel")
    refused(path, r"kernel:0 is a link to another file.*other\.h5")
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f[KERNEL] = h5py.SoftLink("/model_weights/dense/dense/kernel:0")
    refused(path, r"kernel:0 is a SoftLink")


def test_a_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f.create_dataset("data", data=np.zeros((3, 16), "f4"))
    path = copy("lstm", "tfk2.h5", tmp_path)
    layout = h5py.VirtualLayout(shape=(3, 16), dtype="f4")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=(3, 16))
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f.create_virtual_dataset(KERNEL, layout)
    refused(path, r"kernel:0.*virtual dataset")


def test_an_oversized_array_is_refused_before_reading(tmp_path):
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:  # 40 GB declared, nothing stored: HDF5 would allocate it on reading
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(100_000, 100_000), dtype="f4", chunks=(10, 10))
    refused(path, r"kernel:0.*declares shape \(100000, 100000\).*oversized")


def test_a_dataset_of_strings_is_refused(tmp_path):
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f.create_dataset(KERNEL, data=np.array([b"rm -rf /"] * 3))
    refused(path, r"kernel:0.*dtype \|S8; weights must be plain numbers")


def test_a_filter_plugin_is_refused(tmp_path):
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        del f[KERNEL]
        f.create_dataset(
            KERNEL, shape=(3, 16), dtype="f4", chunks=(3, 16), compression=32004, allow_unknown_filter=True
        )
    refused(path, r"kernel:0.*filter plugin #32004")


# ---------------------------------------------------------------------------- damaged files
def test_truncated_and_corrupted_files(tmp_path):
    data = fixture("lstm", "tfk2.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "cut.h5", "truncated or corrupted")
    data = fixture("lstm", "keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) - 200])
    refused(tmp_path / "cut.keras", "truncated")
    damaged = bytearray(data)
    at = data.index(b"\x89HDF") + 4000
    damaged[at : at + 64] = bytes(b ^ 0xFF for b in damaged[at : at + 64])
    (tmp_path / "damaged.keras").write_bytes(bytes(damaged))
    refused(tmp_path / "damaged.keras", r"model\.weights\.h5.*corrupted.*CRC")


def test_a_zip_bomb_member_is_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(fixture("lstm", "keras")) as source, zipfile.ZipFile(path, "w") as target:
        for name in ("config.json", "metadata.json"):
            target.writestr(name, source.read(name))
        target.writestr("model.weights.h5", b"\0" * (20 << 20), compress_type=zipfile.ZIP_DEFLATED)
    refused(path, r"model\.weights\.h5.*decompression bomb")


def test_a_config_that_is_not_a_model(tmp_path):
    path = tmp_path / "keras3.keras"
    with zipfile.ZipFile(path, "w") as z:  # the layout of Keras 3's own files, with nothing in it
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    refused(path, r"config\.json is not a Keras model config")
