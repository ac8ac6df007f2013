"""Training models with several inputs and outputs: data as lists and dicts, losses and metrics per output,
Keras 3's log names and order (checked against a record made by real Keras: fixtures/keras_logs.json)."""

import json
from pathlib import Path

import numpy as np
import pytest

import lstmkit as keras
from lstmkit import layers
from lstmkit.utils import Sequence

KERAS = json.loads((Path(__file__).parent / "fixtures" / "keras_logs.json").read_text())["cases"]


def two_headed(dict_outputs=False):
    seq, static = keras.Input((5, 3), name="seq"), keras.Input((4,), name="static")
    merged = layers.Concatenate(name="cat")(
        [layers.LSTM(8, name="enc")(seq), layers.Dense(4, name="side")(static)]
    )
    reg = layers.Dense(1, name="reg")(merged)
    cls = layers.Dense(1, activation="sigmoid", name="cls")(merged)
    return keras.Model([seq, static], {"r": reg, "c": cls} if dict_outputs else [reg, cls])


def task(n=512, seed=0):
    """reg = sum of the sequence's last step + the first static feature; cls = is the static sum > 2."""
    rng = np.random.default_rng(seed)
    seq = rng.random((n, 5, 3), dtype=np.float32)
    static = rng.random((n, 4), dtype=np.float32)
    reg = (seq[:, -1, :].sum(axis=1) + static[:, 0])[:, None].astype("float32")
    cls = (static.sum(axis=1) > 2.0)[:, None].astype("float32")
    return [seq, static], [reg, cls]


@pytest.mark.parametrize("case", ["dict_loss_weights", "list_of_lists", "one_per_output"])
def test_history_keys_and_evaluate_order_are_keras_3s(case):
    arguments = {
        "dict_loss_weights": {
            "loss": {"reg": "mse", "cls": "binary_crossentropy"},
            "loss_weights": {"reg": 1.0, "cls": 0.5},
            "metrics": {"reg": ["mae"], "cls": ["accuracy"]},
        },
        "list_of_lists": {"loss": ["mse", "binary_crossentropy"], "metrics": [["mae"], ["accuracy", "mse"]]},
        "one_per_output": {"loss": ["mse", "binary_crossentropy"], "metrics": ["mae", "mse"]},
    }[case]
    x, y = task(32)
    model = two_headed()
    model.compile("adam", **arguments)
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert list(history.history) == KERAS[case]["history"]
    named = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(named) == KERAS[case]["return_dict"]
    assert model.evaluate(x, y, verbose=0) == [named[k] for k in KERAS[case]["evaluate"]]


def test_dict_outputs_are_named_by_their_keys():
    x, y = task(32)
    model = two_headed(dict_outputs=True)
    model.compile("adam", loss={"r": "mse", "c": "binary_crossentropy"}, metrics={"c": "accuracy"})
    history = model.fit({"seq": x[0], "static": x[1]}, {"r": y[0], "c": y[1]}, epochs=1, verbose=0)
    assert list(history.history) == KERAS["dict_outputs"]["history"]


def test_two_inputs_two_heads_learn_with_a_loss_dict_and_loss_weights():
    x, y = task(512)
    model = two_headed()
    model.compile(
        keras.optimizers.Adam(0.01),
        loss={"reg": "mse", "cls": "binary_crossentropy"},
        loss_weights={"reg": 1.0, "cls": 0.5},
        metrics={"reg": ["mae"], "cls": ["accuracy"]},
    )
    history = model.fit(x, y, epochs=40, batch_size=64, verbose=0)
    logs = history.history
    # The total is the weighted sum of the heads' losses (no penalties here), at every epoch.
    np.testing.assert_allclose(
        logs["loss"], np.array(logs["reg_loss"]) + 0.5 * np.array(logs["cls_loss"]), rtol=1e-4
    )
    x_test, y_test = task(256, seed=1)
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    baseline_mse = float(np.var(y_test[0]))
    assert results["reg_loss"] < 0.1 * baseline_mse, (
        results
    )  # the regression head explains > 90 % of the variance
    assert results["cls_accuracy"] > 0.9, results
    reg, cls = model.predict(x_test, verbose=0)
    np.testing.assert_allclose(np.mean((reg - y_test[0]) ** 2), results["reg_loss"], rtol=1e-4)
    np.testing.assert_allclose(np.mean((cls > 0.5) == y_test[1]), results["cls_accuracy"], rtol=1e-6)


def test_one_loss_applies_to_every_output_and_outputs_without_loss_are_not_trained():
    x, y = task(64)
    model = two_headed()
    model.compile("sgd", loss="mse")
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["cls_loss", "loss", "reg_loss"]
    assert logs["loss"] == pytest.approx(logs["reg_loss"] + logs["cls_loss"], rel=1e-5)
    only = two_headed()
    only.compile("sgd", loss={"reg": "mse"})
    before = only.get_layer("cls").get_weights()
    only.fit(x, [y[0], None], epochs=1, verbose=0)
    for old, new in zip(before, only.get_layer("cls").get_weights()):
        np.testing.assert_array_equal(old, new)


def test_sample_weight_per_output_and_validation_data_as_dicts():
    x, y = task(64)
    model = two_headed()
    model.compile("sgd", loss=["mse", "mse"])
    zero = np.zeros(64, "float32")
    weighted = model.evaluate(
        x, y, sample_weight={"reg": zero, "cls": np.ones(64, "float32")}, verbose=0, return_dict=True
    )
    plain = model.evaluate(x, y, verbose=0, return_dict=True)
    assert weighted["reg_loss"] == 0.0 and weighted["cls_loss"] == pytest.approx(plain["cls_loss"], rel=1e-6)
    history = model.fit(
        x, y, epochs=1, verbose=0, validation_data=({"seq": x[0], "static": x[1]}, {"reg": y[0], "cls": y[1]})
    )
    assert "val_reg_loss" in history.history
    with pytest.raises(ValueError, match="class_weight is for models with one output"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"2 outputs \['reg', 'cls'\].*one array"):
        model.fit(x, y[0], verbose=0)
    with pytest.raises(ValueError, match=r"keys \['other'\] that are not output names"):
        model.compile("sgd", loss={"other": "mse"})


class Batches(Sequence):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return len(self.y[0]) // self.size

    def __getitem__(self, i):
        rows = slice(i * self.size, (i + 1) * self.size)
        return {"seq": self.x[0][rows], "static": self.x[1][rows]}, [self.y[0][rows], self.y[1][rows]]


def test_sequences_and_generators_yield_structures():
    x, y = task(64)
    model = two_headed()
    model.compile("adam", loss=["mse", "binary_crossentropy"], metrics=[[], ["accuracy"]])
    history = model.fit(Batches(x, y, 16), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    from_arrays = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    from_batches = model.evaluate(Batches(x, y, 16), verbose=0, return_dict=True)
    for key in from_arrays:
        assert from_batches[key] == pytest.approx(from_arrays[key], rel=1e-5)

    def generator():
        while True:
            for i in range(4):
                rows = slice(i * 16, (i + 1) * 16)
                yield [x[0][rows], x[1][rows]], [y[0][rows], y[1][rows]]

    model.fit(generator(), steps_per_epoch=4, epochs=1, verbose=0)
    predicted = model.predict(Batches(x, y, 16), verbose=0)
    np.testing.assert_allclose(predicted[0], model.predict(x, verbose=0)[0], atol=1e-6)


def test_single_batch_methods():
    x, y = task(16)
    model = two_headed()
    model.compile("sgd", loss=["mse", "binary_crossentropy"], metrics=[["mae"], []])
    trained = model.train_on_batch(x, y, return_dict=True)
    assert sorted(trained) == ["cls_loss", "loss", "reg_loss", "reg_mae"]
    tested = model.test_on_batch(x, y)
    assert len(tested) == 4
    out = model.predict_on_batch(x)
    assert isinstance(out, list) and out[0].shape == (16, 1)
