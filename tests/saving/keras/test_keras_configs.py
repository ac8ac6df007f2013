"""Older Keras spellings: Keras 2.0-2.2 and Keras 1 model configs, Keras 2 optimizer configs and variable names.

These files are put together here with h5py in the layouts those Keras versions wrote (they cannot be
installed on today's Python); their weights and expected outputs come from the Keras-made fixtures.
"""

import json

import h5py
import numpy as np
import pytest

from lstmkit.models import load_model
from lstmkit.saving import ModelFileError

from .helpers import FIXTURES, copy, fixture, reference

TOLERANCE = 1e-5


def write_legacy_h5(path, model_config, groups, keras_version=None, training_config=None):
    """A legacy full-model HDF5 file: ``groups`` is [(layer name, [(weight name, array)])]."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config)
        if keras_version is not None:
            f.attrs["keras_version"] = keras_version
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config)
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [name.encode() for name, _ in groups]
        for name, arrays in groups:
            group = weights.create_group(name)
            group.attrs["weight_names"] = [w.encode() for w, _ in arrays]
            for weight_name, value in arrays:
                group.create_dataset(weight_name, data=value)
    return path


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def weight_groups(path, root="/"):
    """[(layer name, [(weight name, array)])] of a legacy weights group, as Keras wrote them."""
    with h5py.File(path) as f:
        group = f[root]
        return [
            (
                _text(name),
                [
                    (_text(w), group[_text(name)][_text(w)][()])
                    for w in group[_text(name)].attrs["weight_names"]
                ],
            )
            for name in group.attrs["layer_names"]
        ]


def test_a_keras1_model_file(tmp_path):
    """Keras 1 argument names (output_dim, init, inner_activation, W_regularizer, consume_less, ...) and its
    12/9-array LSTM/GRU weights; the expected outputs are tf.keras 2's for the same weights."""
    rnn = {
        "init": "glorot_uniform",
        "inner_init": "orthogonal",
        "activation": "tanh",
        "inner_activation": "sigmoid",
        "W_regularizer": None,
        "U_regularizer": None,
        "b_regularizer": None,
        "dropout_W": 0.0,
        "dropout_U": 0.0,
        "consume_less": "gpu",
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
        "trainable": True,
    }
    config = {
        "class_name": "Sequential",
        "config": [  # Keras 1 and 2.0-2.2: the layer list itself
            {
                "class_name": "LSTM",
                "config": {
                    **rnn,
                    "name": "lstm_1",
                    "output_dim": 3,
                    "return_sequences": True,
                    "forget_bias_init": "one",
                    "batch_input_shape": [None, 4, 2],
                    "input_dim": 2,
                    "input_length": 4,
                    "W_constraint": None,
                },
            },
            {
                "class_name": "GRU",
                "config": {**rnn, "name": "gru_1", "output_dim": 2, "return_sequences": False},
            },
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense_1",
                    "output_dim": 1,
                    "init": "glorot_uniform",
                    "activation": "linear",
                    "W_regularizer": None,
                    "b_regularizer": None,
                    "activity_regularizer": None,
                    "bias": True,
                    "input_dim": 2,
                },
            },
        ],
    }
    path = write_legacy_h5(tmp_path / "keras1.h5", config, weight_groups(FIXTURES / "keras1_weights.h5"))
    ref = np.load(FIXTURES / "keras1.npz")
    model = load_model(path)
    lstm, gru, dense = model.layers
    assert (lstm.units, gru.units, dense.units) == (3, 2, 1)
    assert not gru.cell.reset_after  # Keras 1's GRU
    assert model.input_shape == (None, 4, 2)
    np.testing.assert_allclose(model.predict(ref["x0"], verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def _tfk2_config(name="gru"):
    with h5py.File(fixture(name, "tfk2.h5")) as f:
        return json.loads(f.attrs["model_config"]), json.loads(f.attrs["training_config"])


def test_keras22_configs_gru_default_and_optimizer_spellings(tmp_path):
    """Keras 2.2: GRU without reset_after meant reset_after=False; optimizers had lr= and decay=."""
    config, _ = _tfk2_config("gru_reset_before")
    for layer in config["config"]["layers"]:
        layer["config"].pop("reset_after", None)
        layer["config"].pop("time_major", None)
    optimizer = {
        "lr": 0.005,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "decay": 0.01,
        "epsilon": 1e-7,
        "amsgrad": False,
    }
    training = {
        "loss": "mse",
        "metrics": ["mae"],
        "optimizer_config": {"class_name": "Adam", "config": optimizer},
    }
    groups = weight_groups(fixture("gru_reset_before", "tfk2.h5"), "model_weights")
    path = write_legacy_h5(
        tmp_path / "k22.h5", config, groups, keras_version="2.2.4", training_config=training
    )
    model = load_model(path)
    assert [layer.cell.reset_after for layer in model.layers[:2]] == [False, False]
    x, ref = reference("gru_reset_before", "tfk2")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    assert model.optimizer.learning_rate == pytest.approx(0.005) and model.optimizer.decay == pytest.approx(
        0.01
    )
    # The same config read as tf.keras 2's (reset_after=True by default) no longer fits the weights.
    later = write_legacy_h5(tmp_path / "k221.h5", config, groups, keras_version="2.21.0")
    with pytest.raises(ModelFileError, match=r"do not fit layer 'gru_\d+' \(GRU\).*\(2, 12\).*\(12,\)"):
        load_model(later)


def test_keras2_input_dim_and_input_length(tmp_path):
    config, _training = _tfk2_config()
    first = config["config"]["layers"][1]["config"]
    del first["batch_input_shape"]
    first["input_dim"], first["input_length"] = 3, 5
    config["config"]["layers"] = config["config"]["layers"][1:]  # no InputLayer: the shape is on the LSTM
    path = copy("gru", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(config)
    model = load_model(path)
    assert model.input_shape == (None, 5, 3)
    x, ref = reference("gru", "tfk2")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)


def test_tf2_optimizer_v2_variable_names(tmp_path):
    """TF 2.0-2.10 named Adam's variables 'Adam/iter:0', 'Adam/<weight>/m:0' and created all m before all v;
    tf.keras 2.11+ writes 'Adam/m/<weight>:0' interleaved. Both restore the same state."""
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        values = {n: group[n][()] for n in names}
        del f["optimizer_weights"]
        renamed = {"Adam/iter:0": values["iteration:0"]}
        for slot in ("m", "v"):
            for name in names:
                if name.startswith(f"Adam/{slot}/"):
                    renamed[f"Adam/{name[len(f'Adam/{slot}/') : -2]}/{slot}:0"] = values[name]
        group = f.create_group("optimizer_weights")
        group.attrs["weight_names"] = [n.encode() for n in renamed]
        for name, value in renamed.items():
            group.create_dataset(name, data=value)
    x, ref = reference("lstm", "tfk2")
    model = load_model(path)
    assert model.optimizer.iterations == 3
    model.train_on_batch(x, ref["y"])
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["after_step"], atol=TOLERANCE, rtol=0)


def test_unmatched_optimizer_state_warns_and_compiles_fresh(tmp_path):
    path = copy("lstm", "tfk2.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        training = json.loads(f.attrs["training_config"])
        training["optimizer_config"]["config"]["amsgrad"] = True  # the file has no velocity_hat slots
        f.attrs["training_config"] = json.dumps(training)
    with pytest.warns(UserWarning, match=r"optimizer state was not restored.*velocity_hat.*fresh Adam"):
        model = load_model(path)
    assert model.optimizer.amsgrad and model.optimizer.iterations == 0
