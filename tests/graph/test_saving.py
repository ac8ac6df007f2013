"""Saving graph, nested and subclassed models: whole files, JSON and weights round trips predict identically
and train on exactly as the original; shared layers stay shared; Lambda layers never put code in a file."""

import numpy as np
import pytest

import lstmkit as keras
from lstmkit import layers
from lstmkit.models import Sequential, clone_model, load_model, model_from_json
from lstmkit.saving import ModelFileError

RNG = np.random.default_rng(3)


def encoder_decoder():
    enc_in, dec_in = keras.Input((6, 3), name="enc_in"), keras.Input((4, 2), name="dec_in")
    _, h, c = layers.LSTM(5, return_state=True, name="encoder")(enc_in)
    seq = layers.LSTM(5, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    model = keras.Model([enc_in, dec_in], layers.TimeDistributed(layers.Dense(1))(seq))
    model.compile("adam", "mse")
    return model, [RNG.normal(size=(24, 6, 3)), RNG.normal(size=(24, 4, 2))], RNG.normal(size=(24, 4, 1))


def two_headed():
    seq, static = keras.Input((5, 3), name="seq"), keras.Input((4,), name="static")
    merged = layers.concatenate([layers.Bidirectional(layers.GRU(4))(seq), layers.Dense(3)(static)])
    model = keras.Model(
        {"seq": seq, "static": static},
        {"r": layers.Dense(1)(merged), "c": layers.Dense(1, activation="sigmoid")(merged)},
    )
    model.compile(
        "rmsprop",
        loss={"r": "mse", "c": "binary_crossentropy"},
        loss_weights={"r": 1.0, "c": 0.3},
        metrics={"c": ["accuracy"], "r": ["mae"]},
    )
    x = {"seq": RNG.normal(size=(24, 5, 3)), "static": RNG.normal(size=(24, 4))}
    return model, x, {"r": RNG.normal(size=(24, 1)), "c": (RNG.random((24, 1)) > 0.5).astype("float32")}


def shared_and_nested():
    inner = Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(2)], name="inner")
    shared = layers.LSTM(3, return_sequences=True, name="shared")
    a, b = keras.Input((5, 2), name="a"), keras.Input((7, 2), name="b")
    pooled = layers.concatenate(
        [layers.GlobalMaxPooling1D()(shared(a)), layers.GlobalMaxPooling1D()(shared(b))]
    )
    model = keras.Model([a, b], inner(layers.Dense(3)(pooled)))
    model.compile("sgd", "mse", metrics=["mae"])
    return model, [RNG.normal(size=(24, 5, 2)), RNG.normal(size=(24, 7, 2))], RNG.normal(size=(24, 2))


@keras.saving.register_keras_serializable(package="tests")
class Twin(keras.Model):
    """A subclassed model holding layers in a list; saved through get_config/from_config."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.blocks = [layers.LSTM(units, return_sequences=True), layers.LSTM(units)]
        self.head = layers.Dense(1)

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def subclassed():
    model = Twin()
    model.compile("adam", "mse")
    return model, RNG.normal(size=(24, 5, 2)), RNG.normal(size=(24, 1))


KINDS = {
    "encoder_decoder": encoder_decoder,
    "two_headed": two_headed,
    "shared_nested": shared_and_nested,
    "subclassed": subclassed,
}


def _flat(prediction):
    if isinstance(prediction, dict):
        return [prediction[k] for k in sorted(prediction)]
    return prediction if isinstance(prediction, list) else [prediction]


def _same(a, b, tolerance=0.0):
    for left, right in zip(_flat(a), _flat(b)):
        np.testing.assert_allclose(left, right, atol=tolerance, rtol=0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_whole_file_round_trip_predicts_and_trains_on_identically(kind, tmp_path):
    model, x, y = KINDS[kind]()
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert type(loaded).__name__ == type(model).__name__ and loaded.count_params() == model.count_params()
    _same(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    again = loaded.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert list(again.history) == list(history.history)
    for key in history.history:
        np.testing.assert_allclose(again.history[key], history.history[key], rtol=1e-6, atol=1e-7)
    _same(loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_json_and_weights_round_trips(kind, tmp_path):
    model, x, y = KINDS[kind]()
    model.fit(x, y, epochs=1, verbose=0)
    rebuilt = model_from_json(model.to_json())
    if not rebuilt.built:
        rebuilt.build_from_config(model.build_config())
    rebuilt.set_weights(model.get_weights())
    _same(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "w.weights.h5")
    other = KINDS[kind]()[0]
    other.load_weights(tmp_path / "w.weights.h5")
    _same(other.predict(x, verbose=0), model.predict(x, verbose=0))
    again = type(model).from_config(model.get_config())
    if again.built:  # graph models are built from their config
        assert again.count_params() == model.count_params()
    else:
        with pytest.raises(ValueError, match="not built yet"):
            again.count_params()


def test_shared_layers_stay_shared_after_loading(tmp_path):
    model, _x, _ = shared_and_nested()
    model.save(tmp_path / "shared.keras")
    loaded = load_model(tmp_path / "shared.keras")
    shared = loaded.get_layer("shared")
    assert len(shared._inbound_nodes) == 2
    assert (
        loaded.count_params() == 3 * 4 * (2 + 3 + 1) + (6 * 3 + 3) + loaded.get_layer("inner").count_params()
    )


def double(x):
    return x * 2.0


def test_lambda_layers_save_by_function_name_only(tmp_path):
    x = keras.Input((3,))
    anonymous = keras.Model(x, layers.Lambda(lambda t: t + 1.0, name="plus_one")(x))
    with pytest.raises(
        ValueError, match=r"'plus_one' \(Lambda\) wraps an anonymous function.*never writes code"
    ):
        anonymous.save(tmp_path / "anonymous.keras")
    named = keras.Model(x, layers.Lambda(double, name="doubling")(x))
    named.save(tmp_path / "named.keras")
    with pytest.raises(
        ModelFileError, match=r"'doubling' calls the function 'double'.*custom_objects=\{'double': double\}"
    ):
        load_model(tmp_path / "named.keras")
    loaded = load_model(tmp_path / "named.keras", custom_objects={"double": double})
    np.testing.assert_allclose(loaded.predict(np.ones((2, 3)), verbose=0), np.full((2, 3), 2.0))


def test_clone_model_has_the_architecture_and_fresh_weights():
    model, x, _ = shared_and_nested()
    clone = clone_model(model)
    assert [type(layer).__name__ for layer in clone.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    assert clone.count_params() == model.count_params()
    assert len(clone.get_layer("shared")._inbound_nodes) == 2  # still one shared layer
    kernels = [(a, b) for a, b in zip(clone.get_weights(), model.get_weights()) if a.ndim == 2]
    assert kernels and not any(np.array_equal(a, b) for a, b in kernels)  # newly initialized
    clone.set_weights(model.get_weights())
    _same(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    sequential = Sequential([layers.LSTM(3, input_shape=(4, 2)), layers.Dense(1)])
    copy = clone_model(sequential)
    assert copy.count_params() == sequential.count_params() and copy.layers[0] is not sequential.layers[0]
    replaced = clone_model(
        sequential,
        clone_function=lambda layer: (
            layers.GRU(3)
            if isinstance(layer, layers.LSTM)
            else layer.__class__.from_config(layer.get_config())
        ),
    )
    assert isinstance(replaced.layers[0], layers.GRU)
