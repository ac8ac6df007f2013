"""lstmkit.ops and Keras 2's K.* functions against NumPy; custom losses and metrics written with them;
ops on symbolic tensors as graph nodes (saved and reloaded); the error messages."""

import numpy as np
import pytest
import torch

import lstmkit as keras
from lstmkit import backend as K
from lstmkit import layers, ops
from lstmkit.models import Sequential, load_model

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4, 5)).astype("float32")
B = RNG.normal(size=(3, 4, 5)).astype("float32")
M = RNG.normal(size=(5, 2)).astype("float32")


def t(x):
    return torch.from_numpy(np.asarray(x))


@pytest.mark.parametrize(
    "op, args, expected",
    [
        (ops.add, (A, B), A + B),
        (ops.subtract, (A, 2.0), A - 2.0),
        (ops.multiply, (3.0, A), 3.0 * A),
        (ops.divide, (A, B), A / B),
        (ops.power, (np.abs(A), 1.5), np.abs(A) ** 1.5),
        (ops.maximum, (A, B), np.maximum(A, B)),
        (ops.square, (A,), A**2),
        (ops.sqrt, (np.abs(A),), np.sqrt(np.abs(A))),
        (ops.exp, (A,), np.exp(A)),
        (ops.log, (np.abs(A) + 1,), np.log(np.abs(A) + 1)),
        (ops.tanh, (A,), np.tanh(A)),
        (ops.abs, (A,), np.abs(A)),
        (ops.sigmoid, (A,), 1 / (1 + np.exp(-A))),
        (ops.relu, (A,), np.maximum(A, 0)),
        (ops.clip, (A, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
        (lambda x: ops.mean(x, axis=1), (A,), A.mean(axis=1)),
        (lambda x: ops.sum(x, axis=(0, 2), keepdims=True), (A,), A.sum(axis=(0, 2), keepdims=True)),
        (lambda x: ops.max(x, axis=-1), (A,), A.max(axis=-1)),
        (lambda x: ops.std(x), (A,), A.std()),
        (lambda x: ops.argmax(x, axis=-1), (A,), A.argmax(axis=-1)),
        (lambda x: ops.cumsum(x, axis=1), (A,), np.cumsum(A, axis=1)),
        (lambda x: ops.argmin(x, axis=1, keepdims=True), (A,), A.argmin(axis=1)[:, None]),
        (lambda x: ops.argmax(x), (A,), A.argmax()),
        (lambda x: ops.cumprod(x, axis=-1), (A,), np.cumprod(A, axis=-1)),
        (lambda x: ops.cumsum(x), (A,), np.cumsum(A)),
        (lambda x: ops.softmax(x, axis=-1), (A,), np.exp(A) / np.exp(A).sum(axis=-1, keepdims=True)),
        (lambda x: ops.log_softmax(x), (A,), A - np.log(np.exp(A).sum(axis=-1, keepdims=True))),
        (ops.matmul, (A, M), A @ M),
        (ops.dot, (A, M), np.dot(A, M)),
        (lambda a, b: ops.tensordot(a, b, axes=([2], [0])), (A, M), np.tensordot(A, M, axes=([2], [0]))),
        (lambda a, b: ops.einsum("btf,fk->btk", a, b), (A, M), np.einsum("btf,fk->btk", A, M)),
        (lambda x: ops.reshape(x, (3, -1)), (A,), A.reshape(3, -1)),
        (lambda x: ops.transpose(x, (2, 0, 1)), (A,), A.transpose(2, 0, 1)),
        (lambda x: ops.expand_dims(x, -1), (A,), A[..., None]),
        (lambda x: ops.squeeze(x[:, :1], axis=1), (A,), A[:, 0]),
        (lambda a, b: ops.concatenate([a, b], axis=-1), (A, B), np.concatenate([A, B], axis=-1)),
        (lambda a, b: ops.stack([a, b], axis=1), (A, B), np.stack([A, B], axis=1)),
        (lambda x: ops.repeat(x, 2, axis=1), (A,), np.repeat(A, 2, axis=1)),
        (lambda x: ops.tile(x, (1, 2, 1)), (A,), np.tile(A, (1, 2, 1))),
        (lambda a, b: ops.where(ops.greater(a, b), a, b), (A, B), np.where(A > B, A, B)),
        (lambda x: ops.cast(ops.greater(x, 0), "float32"), (A,), (A > 0).astype("float32")),
        (lambda x: ops.one_hot(ops.argmax(x, axis=-1), 5), (A,), np.eye(5)[A.argmax(axis=-1)]),
        (lambda x: ops.top_k(x, 2)[0], (A,), -np.sort(-A, axis=-1)[..., :2]),
        (lambda x: ops.split(x, 2, axis=1)[1], (A,), np.split(A, 2, axis=1)[1]),
    ],
)
def test_ops_equal_numpy(op, args, expected):
    got = op(*[t(a) if isinstance(a, np.ndarray) else a for a in args])
    np.testing.assert_allclose(ops.convert_to_numpy(got), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (lambda x: K.mean(K.square(x), axis=-1), (A,), (A**2).mean(axis=-1)),
        (lambda x: K.sqrt(K.sum(K.abs(x))), (A,), np.sqrt(np.abs(A).sum())),
        (lambda x: K.clip(x, K.epsilon(), 1 - K.epsilon()), (A,), np.clip(A, 1e-7, 1 - 1e-7)),
        (lambda x, m: K.dot(x, m), (A, M), A @ M),
        (lambda a, b: K.batch_dot(a, b, axes=(2, 2)), (A, B), np.einsum("btf,bsf->bts", A, B)),
        (lambda x: K.permute_dimensions(x, (0, 2, 1)), (A,), A.transpose(0, 2, 1)),
        (lambda x: K.repeat_elements(x, 3, axis=2), (A,), np.repeat(A, 3, axis=2)),
        (lambda x: K.concatenate([x, x]), (A,), np.concatenate([A, A], axis=-1)),
        (lambda x: K.expand_dims(x), (A,), A[..., None]),
        (lambda x: K.argmax(x), (A,), A.argmax(axis=-1)),
        # Keras 2's K.relu: x above the threshold, alpha * (x - threshold) below, 0 at it; capped at max_value.
        (
            lambda x: K.relu(x, alpha=0.1, max_value=0.5, threshold=0.2),
            (np.array([-1.0, 0.0, 0.2, 0.3, 2.0], "float32"),),
            np.array([-0.12, -0.02, 0.0, 0.3, 0.5], "float32"),
        ),
        (lambda x: K.softmax(x), (A,), np.exp(A) / np.exp(A).sum(axis=-1, keepdims=True)),
        (lambda x: K.log(K.exp(x)), (A,), A),
        (lambda x: K.repeat(x[:, 0], 3), (A,), np.repeat(A[:, None, 0], 3, axis=1)),
    ],
)
def test_keras2_backend_functions_equal_numpy(fn, args, expected):
    got = fn(*[t(a) for a in args])
    np.testing.assert_allclose(K.get_value(got), expected, rtol=1e-5, atol=1e-6)
    assert K.int_shape(got) == expected.shape


def rmse_k(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))


def rmse_ops(y_true, y_pred):
    return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))


class WeightedMae(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return K.mean(K.abs(y_pred - y_true) * (1.0 + y_true), axis=-1)


class MeanSquaredLogError(keras.metrics.Metric):
    """A stateful metric in Keras's style: variables from add_weight, updated with assign_add."""

    def __init__(self, name="msle_total", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        errors = K.square(K.log(1.0 + K.abs(y_pred)) - K.log(1.0 + K.abs(y_true)))
        self.total.assign_add(K.sum(errors))
        self.count.assign_add(ops.cast(ops.size(errors), "float32"))

    def result(self):
        return self.total / self.count


def test_custom_losses_and_metrics_give_numpy_values():
    x = RNG.normal(size=(24, 3)).astype("float32")
    y = RNG.normal(size=(24, 2)).astype("float32")
    for loss in (rmse_k, rmse_ops, WeightedMae()):
        model = Sequential([layers.Dense(2, input_shape=(3,))])
        model.compile("sgd", loss=loss, metrics=[rmse_k, rmse_ops, MeanSquaredLogError()])
        results = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
        pred = model.predict(x, verbose=0).astype(np.float64)
        rmse = np.sqrt(((pred - y) ** 2).mean(axis=-1)).mean()
        msle = ((np.log1p(np.abs(pred)) - np.log1p(np.abs(y))) ** 2).mean()
        expected_loss = (np.abs(pred - y) * (1.0 + y)).mean() if isinstance(loss, keras.losses.Loss) else rmse
        assert sorted(results) == ["loss", "msle_total", "rmse_k", "rmse_ops"]
        assert results["loss"] == pytest.approx(expected_loss, rel=1e-5)
        assert results["rmse_k"] == pytest.approx(rmse, rel=1e-5) and results["rmse_ops"] == pytest.approx(
            rmse, rel=1e-5
        )
        assert results["msle_total"] == pytest.approx(msle, rel=1e-5)  # accumulated over 5 uneven batches


def test_a_metric_subclass_accumulates_and_resets():
    metric = MeanSquaredLogError()
    chunks = [RNG.random((n, 2)).astype("float32") for n in (3, 7, 1)]
    for chunk in chunks:
        metric.update_state(t(chunk), t(chunk * 2))
    everything = np.concatenate(chunks)
    expected = ((np.log1p(2 * everything) - np.log1p(everything)) ** 2).mean()
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    metric.reset_state()
    assert float(metric.total.numpy()) == 0.0 and float(metric.count.numpy()) == 0.0


def test_custom_losses_and_metrics_save_with_custom_objects(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("adam", loss=WeightedMae(), metrics=[rmse_ops, MeanSquaredLogError()])
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "custom.keras")
    loaded = load_model(
        tmp_path / "custom.keras",
        custom_objects={
            "WeightedMae": WeightedMae,
            "rmse_ops": rmse_ops,
            "MeanSquaredLogError": MeanSquaredLogError,
        },
    )
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True)
    )


def test_ops_on_symbolic_tensors_become_graph_nodes_and_reload(tmp_path):
    x = keras.Input((6, 3))
    sequence = layers.LSTM(4, return_sequences=True)(x)
    pooled = ops.mean(sequence, axis=1) * 2.0 + sequence[:, -1, :]
    scores = ops.softmax(K.dot(sequence, ops.ones((4, 1))), axis=1)
    model = keras.Model(x, [pooled, ops.squeeze(scores, axis=-1)])
    assert [o.shape for o in model.outputs] == [(None, 4), (None, 6)]
    data = RNG.normal(size=(5, 6, 3)).astype("float32")
    got = model.predict(data, verbose=0)
    seq = keras.Model(x, sequence).predict(data, verbose=0)
    np.testing.assert_allclose(got[0], seq.mean(axis=1) * 2 + seq[:, -1], rtol=1e-5)
    logits = seq.sum(axis=-1)
    np.testing.assert_allclose(got[1], np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), rtol=1e-5)
    model.save(tmp_path / "ops.keras")
    again = load_model(tmp_path / "ops.keras")
    for a, b in zip(again.predict(data, verbose=0), got):
        np.testing.assert_array_equal(a, b)


def test_unknown_ops_and_bad_axes_are_explained():
    with pytest.raises(AttributeError, match=r"no op 'reduce_mean'.*lstmkit provides"):
        ops.reduce_mean  # noqa: B018 - a TensorFlow name
    with pytest.raises(AttributeError, match=r"no op 'meen'.*Did you mean ops.mean"):
        ops.meen  # noqa: B018
    with pytest.raises(AttributeError, match=r"no function 'reduce_sum'.*Keras 2's common backend functions"):
        K.reduce_sum  # noqa: B018
    with pytest.raises(ValueError, match=r"axis=3 is outside a tensor of rank 3.*-3 to 2"):
        ops.mean(t(A), axis=3)
    with pytest.raises(ValueError, match=r"axis=3 is outside a tensor of rank 3"):
        ops.sum(keras.Input((4, 5)), axis=3)
    with pytest.raises(TypeError, match=r"Unknown dtype.*'flaot32'"):
        ops.cast(t(A), "flaot32")
    with pytest.raises(TypeError, match=r"K.set_value needs a variable.*learning_rate"):
        K.set_value(0.1, 0.2)


class _TwoPartError(Exception):
    def __init__(self, what, why):  # a constructor that a plain message cannot fill
        super().__init__(f"{what}: {why}")


def test_an_op_failing_on_symbolic_tensors_names_itself_and_the_shapes():
    from lstmkit.ops.core import op

    @op("tests_raises_value_error")
    def raises_value_error(x):
        raise ValueError("bad axis")

    @op("tests_raises_two_part_error")
    def raises_two_part_error(x):
        raise _TwoPartError("kernel", "refused")

    x = keras.Input((3, 4))
    with pytest.raises(ValueError, match=r"ops\.tests_raises_value_error on symbolic tensors .*: bad axis"):
        raises_value_error(x)
    with pytest.raises(ValueError, match=r"ops\.tests_raises_two_part_error .*: kernel: refused") as caught:
        raises_two_part_error(x)
    assert isinstance(caught.value.__cause__, _TwoPartError)
