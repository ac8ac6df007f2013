"""Save/load round trips: whole models in every extension, weights only, JSON + weights, get/set_weights,
custom objects, and training that continues after a load exactly as if it had never stopped."""

import json
import zipfile

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit import layers, optimizers
from lstmkit.models import Sequential, load_model, model_from_json
from lstmkit.saving import ModelFileError

from .cases import FEATURES, MODEL_CASES, OUTPUTS, TIMESTEPS, data


def _trained(make, epochs=1, optimizer="adam", **compile_kwargs):
    model = make()
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"], **compile_kwargs)
    x, y = data()
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


def _same_weights(a, b, atol=0.0):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        assert u.shape == v.shape
        np.testing.assert_allclose(u, v, rtol=0, atol=atol)


@pytest.mark.parametrize("make", MODEL_CASES)
@pytest.mark.parametrize("filename", ["model.keras", "model.h5", "model"])
def test_save_and_load_model_predicts_identically(tmp_path, make, filename):
    model = _trained(make)
    path = tmp_path / filename
    model.save(path)
    assert zipfile.is_zipfile(path) and not list(tmp_path.glob(".*.tmp"))  # one file, no leftovers
    loaded = load_model(path)
    x, _ = data(seed=1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6)
    _same_weights(model, loaded)
    assert type(loaded) is type(model)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert json.loads(loaded.to_json()) == json.loads(model.to_json())
    assert loaded.loss == "mse" and loaded.compiled.metric_identifiers == ["mae"]
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # The loaded model keeps training.
    history = loaded.fit(*data(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("make", MODEL_CASES)
def test_weights_only_and_json_plus_weights(tmp_path, make):
    model = _trained(make)
    x, _ = data(seed=2)
    expected = model.predict(x, verbose=0)

    model.save_weights(tmp_path / "w.weights.h5")
    fresh = make()  # a new model: other layer names (lstm_1, ...) and other initial weights
    assert not np.allclose(fresh.predict(x, verbose=0), expected)
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=0, atol=1e-6)

    rebuilt = model_from_json(model.to_json(), custom_objects=None)
    assert json.loads(rebuilt.to_json()) == json.loads(model.to_json())
    rebuilt.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), expected, rtol=0, atol=1e-6)

    model.save(tmp_path / "full.keras")  # load_weights also reads a whole-model file
    again = make()
    again.load_weights(tmp_path / "full.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=0, atol=1e-6)

    other = make()
    other.set_weights(model.get_weights())
    np.testing.assert_allclose(other.predict(x, verbose=0), expected, rtol=0, atol=1e-6)


def _continued(tmp_path, make_optimizer, frozen=False):
    x, y = data(n=20)

    def fresh():
        lstmkit.utils.set_random_seed(7)
        model = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(OUTPUTS)])
        if frozen:
            model.layers[1].trainable = False
        model.compile(optimizer=make_optimizer(), loss="mse")
        return model

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=6, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    del first
    resumed = load_model(tmp_path / "half.keras")
    resumed.fit(x, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 16
    _same_weights(resumed, straight, atol=1e-6)
    return resumed


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: "adam",
        lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
        lambda: optimizers.AdamW(learning_rate=0.01),
        lambda: optimizers.Adamax(learning_rate=0.01),
        lambda: optimizers.Nadam(learning_rate=0.01),
        lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        lambda: optimizers.SGD(lr=0.05, decay=0.1),  # Keras 2's time-based decay depends on the step count
        lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
        lambda: optimizers.Adagrad(learning_rate=0.05),
        lambda: optimizers.Adadelta(learning_rate=1.0),
        lambda: optimizers.Lion(learning_rate=0.003),
        lambda: optimizers.Adam(learning_rate=optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    ],
    ids=[
        "adam",
        "amsgrad",
        "adamw",
        "adamax",
        "nadam",
        "sgd-nesterov",
        "sgd-decay",
        "rmsprop-centered",
        "adagrad",
        "adadelta",
        "lion",
        "schedule",
    ],
)
def test_training_continues_identically_after_save_and_load(tmp_path, make_optimizer):
    _continued(tmp_path, make_optimizer)


def test_training_continues_identically_with_a_frozen_layer(tmp_path):
    resumed = _continued(tmp_path, lambda: "adam", frozen=True)
    assert resumed.layers[1].trainable is False


def test_a_learning_rate_changed_during_training_is_saved(tmp_path):
    model = _trained(MODEL_CASES[0].values[0], optimizer=optimizers.SGD(learning_rate=0.1))
    model.optimizer.learning_rate = 0.0125  # as LearningRateScheduler / ReduceLROnPlateau do
    model.save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras").optimizer.learning_rate == 0.0125


def test_compile_false_include_optimizer_false_and_uncompiled_models(tmp_path):
    model = _trained(MODEL_CASES[0].values[0])
    model.save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras", compile=False).compiled is None
    model.save(tmp_path / "bare.keras", include_optimizer=False)
    assert load_model(tmp_path / "bare.keras").compiled is None
    uncompiled = MODEL_CASES[0].values[0]()
    uncompiled.save(tmp_path / "u.keras")
    assert load_model(tmp_path / "u.keras").compiled is None


def test_an_unbuilt_model_round_trips_and_load_weights_builds_a_model(tmp_path):
    unbuilt = Sequential([layers.LSTM(3), layers.Dense(1)])
    unbuilt.save(tmp_path / "unbuilt.keras")
    assert not load_model(tmp_path / "unbuilt.keras").built

    model = _trained(MODEL_CASES[0].values[0])
    model.save_weights(tmp_path / "w.h5")
    target = Sequential([layers.LSTM(6), layers.Dense(OUTPUTS)])  # no input shape: built from the file's
    target.load_weights(tmp_path / "w.h5")
    x, _ = data()
    np.testing.assert_allclose(target.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_saved_files_are_deterministic_and_hold_only_json_and_npy(tmp_path):
    model = _trained(MODEL_CASES[0].values[0])
    model.save(tmp_path / "a.keras")
    model.save(tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    names = zipfile.ZipFile(tmp_path / "a.keras").namelist()
    assert names[-1] == "lstmkit.json"  # written last: it lists the others
    assert all(n.endswith((".json", ".npy")) for n in names)
    with zipfile.ZipFile(tmp_path / "a.keras") as archive, archive.open("weights/0.npy") as member:
        np.testing.assert_array_equal(np.load(member, allow_pickle=False), model.get_weights()[0])


# ---------------------------------------------------------------------------- custom objects
class Scale(layers.Layer):
    """A user layer: multiplies by a learned per-feature scale."""

    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.scale = torch.nn.Parameter(torch.full((input_shape[-1],), float(self.init)))

    def call(self, inputs):
        return inputs * self.scale

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def root_mean_error(y_true, y_pred):
    return torch.sqrt(torch.mean((y_true - y_pred) ** 2, dim=-1))


def test_custom_layer_loss_and_metric_round_trip(tmp_path):
    model = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), Scale(0.5), layers.Dense(OUTPUTS)])
    model.compile("adam", loss=root_mean_error, metrics=[root_mean_error])
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "custom.keras")
    custom = {"Scale": Scale, "root_mean_error": root_mean_error}
    loaded = load_model(tmp_path / "custom.keras", custom_objects=custom)
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].init == 0.5
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.compiled.loss is root_mean_error
    assert "root_mean_error" in loaded.fit(x, y, epochs=1, verbose=0).history

    with pytest.raises(ValueError, match=r"root_mean_error.*custom_objects=.*compile=False"):
        load_model(tmp_path / "custom.keras", custom_objects={"Scale": Scale})
    assert isinstance(load_model(tmp_path / "custom.keras", compile=False).layers[1], Scale)

    rebuilt = model_from_json(model.to_json(), custom_objects={"Scale": Scale})
    assert isinstance(rebuilt.layers[1], Scale)


def test_custom_objects_win_and_unknown_classes_are_explained():
    class Dense(layers.Dense):  # a user class shadowing a built-in name
        pass

    text = Sequential([layers.Dense(2, input_shape=(3,))]).to_json()
    assert type(model_from_json(text, custom_objects={"Dense": Dense}).layers[0]) is Dense
    unknown = text.replace('"class_name": "Dense"', '"class_name": "Dence"')
    with pytest.raises(ValueError, match=r"Dence.*Did you mean 'Dense'.*custom_objects"):
        model_from_json(unknown)


def test_json_functions():
    model = Sequential([layers.LSTM(3, input_shape=(4, 2)), layers.Dense(1)])
    text = model.to_json(indent=2)
    assert "\n  " in text and json.loads(text)["class_name"] == "Sequential"
    rebuilt = model_from_json(text)
    assert rebuilt.input_shape == (None, 4, 2) and rebuilt.output_shape == (None, 1)
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{not json")
    with pytest.raises(TypeError, match="not a model"):
        model_from_json(json.dumps({"class_name": "Dense", "config": {"units": 2}}))
    with pytest.raises(TypeError, match="model config"):
        model_from_json("[1, 2]")


# ---------------------------------------------------------------------------- weight matching
def test_load_weights_mismatches_name_the_layer(tmp_path):
    source = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2)])
    source.save_weights(tmp_path / "w.h5")

    wider = Sequential([layers.LSTM(5, input_shape=(TIMESTEPS, FEATURES), name="enc"), layers.Dense(2)])
    before = wider.get_weights()
    with pytest.raises(
        ValueError,
        match=r"layer #0 'enc' \(LSTM\).*'enc/kernel'|layer #0 'enc' \(LSTM\)"
        r".*kernel.* has shape \(3, 20\).*\(3, 16\)",
    ):
        wider.load_weights(tmp_path / "w.h5")
    for a, b in zip(before, wider.get_weights()):  # a failed load changes nothing
        np.testing.assert_array_equal(a, b)

    deeper = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2), layers.Dense(1)])
    with pytest.raises(
        ValueError, match=r"weights for 2 layer\(s\).*3 layer\(s\) with weights.*by_name=True"
    ):
        deeper.load_weights(tmp_path / "w.h5")

    other_head = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(3)])
    head_before = other_head.layers[1].get_weights()
    with pytest.warns(UserWarning, match=r"(?s)skipped 1.*layer #1 'dense"):
        other_head.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    for a, b in zip(other_head.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(other_head.layers[1].get_weights()[0], head_before[0])

    by_name = Sequential(
        [
            layers.Dense(3, input_shape=(TIMESTEPS, FEATURES), name="extra"),
            layers.LSTM(4, name=source.layers[0].name),
            layers.Dense(2, name=source.layers[1].name),
        ]
    )
    with pytest.raises(ValueError):
        by_name.load_weights(tmp_path / "w.h5")  # by order, the extra Dense is compared with the LSTM
    extra_before = by_name.layers[0].get_weights()
    with pytest.warns(
        UserWarning, match=r"1 layer\(s\) of model .* keep their previous weights.*\['extra'\]"
    ):
        by_name.load_weights(tmp_path / "w.h5", by_name=True)
    np.testing.assert_array_equal(
        by_name.layers[0].get_weights()[0], extra_before[0]
    )  # not in the file: kept
    for mine, theirs in zip(by_name.layers[1:], source.layers):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_load_model_refuses_a_weights_only_file_and_save_checks_its_arguments(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"only weights.*load_weights"):
        load_model(tmp_path / "w.h5")
    with pytest.raises(TypeError, match="include_optimizer"):
        model.save(tmp_path / "m.keras", include_optimiser=False)
    with pytest.raises(ValueError, match="options="):
        model.save(tmp_path / "m.keras", options=object())
    with pytest.warns(UserWarning, match="not a TensorFlow SavedModel"):
        model.save(tmp_path / "m.keras", save_format="tf")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.save(tmp_path)
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        load_model(tmp_path / "m.keras", custom_objects=[Scale])
    assert isinstance(ModelFileError("x", "y"), ValueError)


def test_bfloat16_weights_round_trip(tmp_path):
    model = Sequential([layers.Dense(3, input_shape=(4,), dtype="bfloat16")])
    model.save(tmp_path / "b.keras")
    loaded = load_model(tmp_path / "b.keras")
    assert loaded.layers[0].kernel.dtype == torch.bfloat16
    assert torch.equal(loaded.layers[0].kernel.cpu(), model.layers[0].kernel.cpu())


class TwoLayerNet(lstmkit.models.Model):
    """A subclassed model (Keras's subclassing API) with its own config."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.encoder = layers.LSTM(units)
        self.head = layers.Dense(OUTPUTS)

    def call(self, inputs):
        return self.head(self.encoder(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_subclassed_model_round_trips_and_keeps_training(tmp_path):
    model = TwoLayerNet(3)
    model.compile("adam", "mse")
    x, y = data()
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "net.keras")
    loaded = load_model(tmp_path / "net.keras", custom_objects={"TwoLayerNet": TwoLayerNet})
    assert isinstance(loaded, TwoLayerNet) and loaded.units == 3
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    _same_weights(model, loaded, atol=1e-6)
