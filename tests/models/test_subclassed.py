"""Subclassed models (``class M(keras.Model)``) behave as Keras's: the training phase comes from the call,
masks flow, layers in attributes/lists/dicts are tracked, stateful layers keep the user's batch size."""

import threading

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import layers
from lstmkit.models import Sequential, load_model


class Dropper(keras.Model):
    """The Keras idiom: call(x, training=None) passes training on to Dropout."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.drop = layers.Dropout(0.5)
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones")

    def call(self, inputs, training=None):
        return self.drop(inputs, training=training) * self.scale


def test_training_none_inherits_the_phase_of_fit_and_predict():
    model = Dropper()
    seen = []

    class Spy(layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

        def compute_output_shape(self, input_shape):
            return input_shape

    model.spy = Spy()
    original = model.call
    model.call = lambda inputs, training=None: model.spy(original(inputs, training=training))
    x = np.ones((64, 8), dtype="float32")
    model.compile("sgd", loss="mse")
    model.build((None, 8))  # builds by a traced run, in inference mode
    seen.clear()
    model.fit(x, np.zeros((64, 8)), batch_size=64, epochs=1, verbose=0)
    assert seen and all(s is True for s in seen)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out, x * float(model.scale.detach()), rtol=1e-6)  # no dropout in predict
    dropped = model(torch.ones(64, 8), training=True).detach().numpy()
    assert 0.3 < (dropped == 0).mean() < 0.7  # an explicit training=True wins (Monte-Carlo dropout)
    np.testing.assert_allclose(
        model(torch.ones(4, 8)).detach().numpy(), np.full((4, 8), float(model.scale.detach()))
    )


def test_dropout_is_active_during_fit_checked_by_outputs():
    recorded = []

    class Recorder(layers.Layer):
        def call(self, inputs):
            recorded.append(inputs.detach().clone())
            return inputs

        def compute_output_shape(self, input_shape):
            return input_shape

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.drop = layers.Dropout(0.5)
            self.record = Recorder()
            self.out = layers.Dense(1)

        def call(self, x, training=None):
            return self.out(self.record(self.drop(x, training=training)))

    model = Net()
    model.compile("sgd", "mse")
    x = np.ones((200, 4), dtype="float32")
    model.fit(x, np.zeros((200, 1)), batch_size=200, epochs=1, verbose=0)
    during_fit = recorded[-1].numpy()
    assert 0.35 < (during_fit == 0).mean() < 0.65 and np.allclose(during_fit[during_fit != 0], 2.0)
    recorded.clear()
    model.predict(x, verbose=0)
    np.testing.assert_array_equal(torch.cat(recorded).numpy(), x)


def test_sequential_call_honours_training():
    model = Sequential([layers.Dropout(0.9, input_shape=(50,))])
    x = torch.ones(20, 50)
    assert (model(x, training=True) == 0).float().mean() > 0.8
    np.testing.assert_array_equal(model(x, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())  # a direct call is inference, as in Keras


def test_masks_are_passed_on_in_subclassed_models():
    embedding = layers.Embedding(10, 3, mask_zero=True)
    lstm = layers.LSTM(4)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding, self.lstm = embedding, lstm

        def call(self, x):
            return self.lstm(self.embedding(x))

    ids = np.array([[0, 0, 3, 4, 5], [1, 2, 3, 0, 0]])
    subclassed = Net()(torch.as_tensor(ids)).detach().numpy()
    stacked = Sequential([embedding, lstm])(torch.as_tensor(ids)).detach().numpy()
    np.testing.assert_allclose(subclassed, stacked, atol=1e-6)
    # Masked timesteps are skipped: the second row equals running the LSTM on its first three ids only.
    np.testing.assert_allclose(
        subclassed[1], Sequential([embedding, lstm])(torch.as_tensor(ids[1:, :3])).detach()[0], atol=1e-6
    )


def test_a_stateful_layer_keeps_the_batch_size_it_trains_with():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.lstm = layers.LSTM(3, stateful=True)
            self.out = layers.Dense(1)

        def call(self, x):
            return self.out(self.lstm(x))

    model = Net()
    model.compile("adam", "mse")
    x, y = np.random.rand(8, 5, 2).astype("float32"), np.random.rand(8, 1).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # the shape trace did not pin batch 1
    assert model.lstm.stateful_batch_size == 4
    model.build((4, 5, 2))
    assert model.lstm.stateful_batch_size == 4


class Blocks(layers.Layer):
    """A custom layer whose inner layers live in a list and a dict."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack = []
        for width in (5, 4):
            self.stack.append(layers.Dense(width, activation="tanh"))
        self.heads = {"a": layers.Dense(2), "b": layers.Dense(1)}

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return torch.cat([self.heads["a"](x), self.heads["b"](x)], dim=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)


def test_layers_in_lists_and_dicts_are_tracked_and_saved(tmp_path):
    model = Sequential([layers.Dense(6, input_shape=(3,)), Blocks()])
    # Dense(6) 24 + Dense(5) 35 + Dense(4) 24 + Dense(2) 10 + Dense(1) 5
    assert model.count_params() == 24 + 35 + 24 + 10 + 5
    assert len(model.trainable_parameters()) == 10
    model.compile("adam", "mse")
    x, y = np.random.rand(16, 3).astype("float32"), np.random.rand(16, 3).astype("float32")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "blocks.keras")
    loaded = load_model(tmp_path / "blocks.keras", custom_objects={"Blocks": Blocks})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_freezing_keeps_non_trainable_weights_non_trainable():
    norm = layers.BatchNormalization()

    class Counter(layers.Layer):
        def build(self, input_shape):
            self.steps = self.add_weight(name="steps", shape=(), initializer="zeros", trainable=False)
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.scale

        def compute_output_shape(self, input_shape):
            return input_shape

    counter = Counter()
    model = Sequential([layers.Dense(3, input_shape=(2,)), norm, counter])
    before = [w.trainable for w in model.weights]
    model.trainable = False
    assert not any(p.requires_grad for p in model.parameters())
    model.trainable = True
    assert [w.trainable for w in model.weights] == before
    assert [w.name for w in counter.weights] == [f"{counter.name}/scale", f"{counter.name}/steps"]
    assert not counter.steps.requires_grad


def test_predict_in_another_thread_does_not_change_the_phase_of_fit():
    model = Dropper()
    model.compile(keras.optimizers.SGD(0.0), "mse")
    stop = threading.Event()

    def keep_predicting():
        while not stop.is_set():
            model.predict(np.ones((4, 8), dtype="float32"), verbose=0)

    thread = threading.Thread(target=keep_predicting)
    thread.start()
    try:
        seen = []
        original = model.drop.call

        def spy(inputs, training=False):
            seen.append(training)
            return original(inputs, training=training)

        model.drop.call = spy
        model.fit(np.ones((32, 8)), np.zeros((32, 8)), batch_size=4, epochs=3, verbose=0)
    finally:
        stop.set()
        thread.join()
    fit_calls = [s for s in seen if s]
    assert len(fit_calls) >= 24


def test_add_weight_in_a_repeated_call_is_refused():
    class Leaky(layers.Layer):
        def call(self, x):
            w = self.add_weight(shape=(x.shape[-1],), initializer="ones")
            return x * w

        def compute_output_shape(self, input_shape):
            return input_shape

    layer = Leaky()
    layer(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"add_weight inside call\(\).*build\(self, input_shape\)"):
        layer(torch.ones(2, 3))
