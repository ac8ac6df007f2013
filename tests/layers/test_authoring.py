"""The Keras layer-authoring API as tutorials use it: add_weight, K.* math in call, compute_output_shape
(or not), custom_objects and registration, add_loss, constraints, InputSpec, and the misuse messages."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import backend as K
from lstmkit import constraints, layers
from lstmkit.models import Sequential, load_model


class Attention(layers.Layer):
    """The additive attention layer of the LSTM tutorials, written as they write it (Keras 2 style)."""

    def __init__(self, **kwargs):
        super(Attention, self).__init__(**kwargs)  # noqa: UP008 - the tutorials' spelling

    def build(self, input_shape):
        self.W = self.add_weight(name="att_weight", shape=(input_shape[-1], 1), initializer="normal")
        self.b = self.add_weight(name="att_bias", shape=(input_shape[1], 1), initializer="zeros")
        super(Attention, self).build(input_shape)  # noqa: UP008

    def call(self, x):
        e = K.tanh(K.dot(x, self.W) + self.b)
        a = K.softmax(e, axis=1)
        return K.sum(x * a, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return super(Attention, self).get_config()  # noqa: UP008


def marker_task(n, steps=10, seed=0):
    """Random values with one marked timestep; the label: is the marked value above 0.5?"""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps, 2), "float32")
    x[:, :, 0] = rng.random((n, steps))
    where = rng.integers(0, steps, n)
    x[np.arange(n), where, 1] = 1.0
    return x, (x[np.arange(n), where, 0] > 0.5).astype("float32")


def test_the_tutorial_attention_layer_learns_where_to_look_and_reloads(tmp_path):
    x, y = marker_task(2000)
    model = Sequential(
        [
            layers.LSTM(32, return_sequences=True, input_shape=(10, 2)),
            Attention(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    assert [w.name.split("/")[-1] for w in model.layers[1].weights] == ["att_weight", "att_bias"]
    assert model.layers[1].count_params() == 32 + 10
    model.fit(x, y, epochs=10, batch_size=64, verbose=0)
    x_test, y_test = marker_task(500, seed=1)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9, accuracy
    model.save(tmp_path / "attention.keras")
    loaded = load_model(tmp_path / "attention.keras", custom_objects={"Attention": Attention})
    np.testing.assert_array_equal(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0))


def test_add_weight_takes_keras_2_and_3_forms_and_registers_parameters():
    layer = layers.Layer()
    kernel = layer.add_weight("kernel", (3, 4), initializer="ones")  # Keras 2: name first
    counter = layer.add_weight(shape=(), initializer="zeros", trainable=False, name="count", dtype="int32")
    layer.add_weight(
        shape=(2,), initializer=keras.initializers.Constant(0.5), regularizer="l2", name="scaled"
    )
    assert (
        isinstance(kernel, torch.nn.Parameter)
        and kernel.shape == (3, 4)
        and float(kernel.detach().sum()) == 12
    )
    assert counter.dtype == torch.int32 and not counter.requires_grad
    assert [w.name for w in layer.weights] == [
        f"{layer.name}/kernel",
        f"{layer.name}/scaled",
        f"{layer.name}/count",
    ]
    assert [w.name for w in layer.trainable_weights] == [f"{layer.name}/kernel", f"{layer.name}/scaled"]
    assert float(layer.regularization_losses()[0].detach()) == pytest.approx(0.01 * 2 * 0.25)
    kernel.assign(np.zeros((3, 4)))
    kernel.assign_add(np.ones((3, 4)))
    assert kernel.numpy().sum() == 12.0
    with pytest.raises(ValueError, match=r"fully known shape.*input_shape\[-1\]"):
        layer.add_weight(shape=(None, 3))
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'intializer'.*Did you mean 'initializer'"
    ):
        layer.add_weight(shape=(2,), intializer="zeros")


def test_add_loss_enters_the_training_loss_and_layer_losses():
    class Penalized(layers.Layer):
        def call(self, x):
            self.add_loss(K.mean(K.square(x)))  # an activity penalty, as tutorials write it
            return x

        def compute_output_shape(self, input_shape):
            return input_shape

    model = Sequential(
        [layers.Dense(2, input_shape=(3,), kernel_initializer="ones", use_bias=False), Penalized()]
    )
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    loss = model.evaluate(x, y, verbose=0)
    # outputs are all 3.0: mse 9 plus the penalty mean(3**2) = 9.
    assert loss == pytest.approx(18.0)
    assert float(model.layers[1].losses[0]) == pytest.approx(9.0)
    activity = Sequential(
        [
            layers.Dense(
                2,
                input_shape=(3,),
                kernel_initializer="ones",
                use_bias=False,
                activity_regularizer=keras.regularizers.l2(0.1),
            )
        ]
    )
    activity.compile("sgd", "mse")
    # Keras: l2(0.1) of the outputs (4 samples x 2 units of 3.0 -> 0.1 * 72) divided by the batch size, 4.
    assert activity.evaluate(x, y, verbose=0) == pytest.approx(9.0 + 0.1 * 72 / 4)


@pytest.mark.parametrize(
    "constraint, check",
    [
        (constraints.MaxNorm(0.5), lambda w: np.all(np.linalg.norm(w, axis=0) <= 0.5 + 1e-6)),
        (constraints.NonNeg(), lambda w: np.all(w >= 0)),
        (constraints.UnitNorm(), lambda w: np.allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-5)),
        (
            constraints.MinMaxNorm(0.2, 0.4),
            lambda w: np.all(
                (np.linalg.norm(w, axis=0) > 0.2 - 1e-5) & (np.linalg.norm(w, axis=0) < 0.4 + 1e-5)
            ),
        ),
    ],
)
def test_constraints_hold_after_every_update(constraint, check):
    x, y = np.random.default_rng(0).normal(size=(64, 4, 3)).astype("float32"), np.ones((64, 1), "float32") * 5
    dense = layers.Dense(1, kernel_constraint=constraint)
    lstm = layers.LSTM(3, kernel_constraint=constraint, recurrent_constraint=constraint)
    model = Sequential([layers.Input((4, 3)), lstm, dense])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    kernel, recurrent, _ = lstm.get_weights()  # Keras layout: each unit's weights in a column
    assert check(kernel) and check(recurrent) and check(dense.get_weights()[0])


def test_constraints_match_numpy_and_round_trip_in_configs():
    w = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    norms = np.sqrt((w**2).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(
        constraints.MaxNorm(1.0)(torch.from_numpy(w)).numpy(),
        w * np.minimum(norms, 1.0) / (norms + 1e-7),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        constraints.UnitNorm(axis=1)(torch.from_numpy(w)).numpy(),
        w / (np.sqrt((w**2).sum(axis=1, keepdims=True)) + 1e-7),
        rtol=1e-6,
    )
    layer = layers.Dense(2, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg())
    again = layers.Dense.from_config(layer.get_config())
    assert isinstance(again.kernel_constraint, constraints.MaxNorm) and isinstance(
        again.bias_constraint, constraints.NonNeg
    )


def test_registered_and_scoped_custom_objects_load_without_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="tests_authoring")
    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2

        def compute_output_shape(self, input_shape):
            return input_shape

    model = Sequential([layers.Dense(2, input_shape=(3,)), Doubler()])
    model.save(tmp_path / "registered.keras")
    assert isinstance(load_model(tmp_path / "registered.keras").layers[1], Doubler)
    assert keras.utils.get_custom_objects()["tests_authoring>Doubler"] is Doubler


def test_registered_regularizers_and_initializers_load_without_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="tests_authoring")
    class SumOfWeights(keras.regularizers.Regularizer):
        def __init__(self, factor=1.0):
            self.factor = factor

        def __call__(self, weight):
            return self.factor * weight.sum()

        def get_config(self):
            return {"factor": self.factor}

    @keras.saving.register_keras_serializable(package="tests_authoring")
    class Halves(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return torch.full(tuple(shape), 0.5, dtype=dtype)

    model = Sequential(
        [layers.Dense(2, input_shape=(3,), kernel_initializer=Halves(), kernel_regularizer=SumOfWeights(0.1))]
    )
    model.save(tmp_path / "registered.keras")
    dense = load_model(tmp_path / "registered.keras").layers[0]
    assert isinstance(dense.kernel_regularizer, SumOfWeights) and dense.kernel_regularizer.factor == 0.1
    assert isinstance(dense.kernel_initializer, Halves)
    np.testing.assert_array_equal(dense.get_weights()[0], np.full((3, 2), 0.5))
    assert float(sum(loss.detach() for loss in dense.losses)) == pytest.approx(
        0.1 * 0.5 * 6
    )  # 0.1 x the six kernel entries of 0.5


def test_input_spec_is_checked_like_lstmkits_own_ranks():
    class Needs3D(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = layers.InputSpec(ndim=3)

        def compute_output_shape(self, input_shape):
            return input_shape

    with pytest.raises(
        ValueError, match=r"'needs3d.*expects 3-D input; received a 2-D input of shape \(None, 4\)"
    ):
        Needs3D()(keras.Input((4,)))


def test_k_set_value_changes_the_learning_rate_that_training_uses():
    model = Sequential([layers.Dense(1, input_shape=(1,), kernel_initializer="zeros", use_bias=False)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    K.set_value(model.optimizer.lr, 0.0)
    assert K.get_value(model.optimizer.learning_rate) == 0.0
    model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=1, verbose=0)
    assert model.get_weights()[0][0, 0] == 0.0  # no step was taken at rate 0
    model.optimizer.learning_rate.assign(0.5)  # Keras 3's spelling
    model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=1, batch_size=4, verbose=0)
    assert model.get_weights()[0][0, 0] == pytest.approx(0.5 * 2 * 1.0)  # d/dw (w - 1)^2 = -2 at w = 0


def test_calling_build_yourself_marks_the_layer_built():
    dense = layers.Dense(2)
    dense.build((None, 3))
    dense.set_weights([np.ones((3, 2), "float32"), np.zeros(2, "float32")])
    np.testing.assert_array_equal(dense(torch.ones(1, 3)).detach().numpy(), [[3.0, 3.0]])  # not rebuilt
    counter = Attention()
    counter.build((None, 5, 4))
    counter(torch.ones(2, 5, 4))
    assert len(counter.weights) == 2  # add_weight ran once
