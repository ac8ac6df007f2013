"""Losses and metrics against NumPy formulas; 'accuracy' resolution; stability at saturation."""

import warnings

import numpy as np
import pytest
import torch

from lstmkit import activations, losses, metrics
from lstmkit.layers import Dense
from lstmkit.models import Sequential

EPS = 1e-7


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


@pytest.fixture
def pair(rng):
    y_true = rng.uniform(0.05, 0.95, size=(6, 3))
    y_pred = rng.uniform(0.05, 0.95, size=(6, 3))
    return y_true, y_pred


REFERENCE = {
    "mean_squared_error": lambda t, p: ((p - t) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(p - t).mean(-1),
    "mape": lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "msle": lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "binary_crossentropy": lambda t, p: -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1),
    "categorical_crossentropy": lambda t, p: -(t * np.log(p / p.sum(-1, keepdims=True))).sum(-1),
    "hinge": lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
    "huber": lambda t, p: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1),
    "kld": lambda t, p: (t * np.log(t / p)).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_loss_equals_numpy(name, pair):
    y_true, y_pred = pair
    expected = REFERENCE[name](y_true, y_pred)
    fn = losses.get(name)
    np.testing.assert_allclose(fn(_t(y_true), _t(y_pred)).numpy(), expected, rtol=1e-6)
    # A compiled loss reduces with the mean over the batch ('sum_over_batch_size').
    np.testing.assert_allclose(
        float(losses.reduce_values(fn(_t(y_true), _t(y_pred)))), expected.mean(), rtol=1e-6
    )


def test_hinge_maps_binary_labels_to_plus_minus_one():
    y_true, y_pred = np.array([[0.0, 1.0]]), np.array([[0.3, -0.2]])
    expected = np.maximum(1 - np.array([[-1.0, 1.0]]) * y_pred, 0).mean(-1)
    np.testing.assert_allclose(losses.hinge(_t(y_true), _t(y_pred)).numpy(), expected)


def test_sparse_categorical_crossentropy_equals_numpy(rng):
    logits = rng.normal(size=(5, 4))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.array([0, 3, 1, 1, 2])
    expected = -np.log(probs[np.arange(5), labels])
    for y in (labels, labels[:, None]):
        got = losses.sparse_categorical_crossentropy(_t(y), _t(probs)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)(_t(labels), _t(logits))
    assert float(from_logits) == pytest.approx(expected.mean(), rel=1e-6)


def test_loss_objects_and_sample_weights(pair):
    y_true, y_pred = pair
    weights = np.array([1.0, 0.0, 2.0, 1.0, 0.5, 0.0])
    per_sample = ((y_pred - y_true) ** 2).mean(-1)
    loss = losses.MeanSquaredError()
    assert float(loss(_t(y_true), _t(y_pred), _t(weights))) == pytest.approx((per_sample * weights).sum() / 6)
    assert float(losses.MeanSquaredError(reduction="sum")(_t(y_true), _t(y_pred))) == pytest.approx(
        per_sample.sum()
    )


@pytest.mark.parametrize(
    "activation,loss", [("sigmoid", "binary_crossentropy"), ("softmax", "categorical_crossentropy")]
)
def test_crossentropy_after_saturated_output_stays_finite(activation, loss):
    logits = torch.tensor([[60.0, -60.0], [-80.0, 80.0]], dtype=torch.float32, requires_grad=True)
    probabilities = activations.get(activation)(logits)
    y_true = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong
    value = losses.get(loss)(y_true, probabilities).mean()
    value.backward()
    assert torch.isfinite(value) and value.item() > 50  # the true loss, not a clipped log(1e-7) = 16.1
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().max() > 0.1  # the gradient did not vanish


def test_crossentropy_without_logits_clips_probabilities():
    p = _t([[0.0, 1.0]])
    value = losses.binary_crossentropy(_t([[1.0, 0.0]]), p)
    assert torch.isfinite(value) and value.item() == pytest.approx(-np.log(EPS), rel=1e-3)


@pytest.mark.parametrize(
    "y_shape,out_shape,expected",
    [
        ((10, 1), (None, 1), metrics.BinaryAccuracy),
        ((10,), (None, 1), metrics.BinaryAccuracy),
        ((10,), (None, 4), metrics.SparseCategoricalAccuracy),
        ((10, 1), (None, 4), metrics.SparseCategoricalAccuracy),
        ((10, 4), (None, 4), metrics.CategoricalAccuracy),
    ],
)
def test_accuracy_is_resolved_from_shapes_and_keeps_its_name(y_shape, out_shape, expected):
    for name in ("accuracy", "acc"):
        metric = metrics.resolve_placeholder(name, y_shape, out_shape)
        assert isinstance(metric, expected) and metric.name == name


def test_metric_values_equal_numpy(rng):
    probs = rng.uniform(size=(20, 3))
    labels = rng.integers(0, 3, size=20)
    onehot = np.eye(3)[labels]
    for metric, y, expected in [
        (metrics.CategoricalAccuracy(), onehot, np.mean(probs.argmax(-1) == labels)),
        (metrics.SparseCategoricalAccuracy(), labels, np.mean(probs.argmax(-1) == labels)),
        (metrics.BinaryAccuracy(), (probs > 0.3).astype(float), np.mean((probs > 0.5) == (probs > 0.3))),
        (metrics.get("mae"), onehot, np.abs(probs - onehot).mean()),
        (metrics.get("rmse"), onehot, np.sqrt(((probs - onehot) ** 2).mean())),
        (
            metrics.Precision(),
            (probs > 0.3).astype(float),
            np.sum((probs > 0.5) & (probs > 0.3)) / np.sum(probs > 0.5),
        ),
        (
            metrics.Recall(),
            (probs > 0.3).astype(float),
            np.sum((probs > 0.5) & (probs > 0.3)) / np.sum(probs > 0.3),
        ),
    ]:
        for start in range(0, 20, 7):  # accumulated over uneven batches
            metric.update_state(_t(y[start : start + 7]), _t(probs[start : start + 7]))
        assert metric.result() == pytest.approx(expected, rel=1e-9), metric.name


def test_metric_names_are_logged_as_written():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.integers(0, 2, size=12)
    model = Sequential([Dense(1, input_dim=3, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc", "mae", metrics.Precision()])
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    # Keras 3 sorts its logs (History, return_dict); evaluate's list keeps the compile order after the loss.
    assert list(history.history) == [
        "acc",
        "loss",
        "mae",
        "precision",
        "val_acc",
        "val_loss",
        "val_mae",
        "val_precision",
    ]
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(results) == ["acc", "loss", "mae", "precision"]
    values = model.evaluate(x, y, verbose=0)
    assert values == [results["loss"], results["acc"], results["mae"], results["precision"]]


def test_accuracy_with_a_regression_loss_warns_once():
    model = Sequential([Dense(1, input_dim=2)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    relevant = [w for w in caught if "regression" in str(w.message)]
    assert len(relevant) == 1 and "metrics=['mae']" in str(relevant[0].message)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    assert not [w for w in caught if "regression" in str(w.message)]


def test_subclasses_of_lstmkit_metrics_keep_their_state(rng):
    class DoubledMean(metrics.Mean):  # Keras style: reuse Mean's state, change what is accumulated
        def update_state(self, values, sample_weight=None):
            super().update_state(2.0 * torch.as_tensor(values), sample_weight)

    class AbsoluteError(metrics.MeanMetricWrapper):
        def __init__(self, name="absolute_error"):
            super().__init__(lambda y_true, y_pred: (y_true - y_pred).abs().mean(-1), name=name)

    a, b = rng.normal(size=6).astype("float32"), rng.normal(size=(6, 1)).astype("float32")
    doubled, absolute = DoubledMean(), AbsoluteError()
    for rows in (slice(0, 4), slice(4, 6)):
        doubled.update_state(a[rows])
        absolute.update_state(torch.from_numpy(b[rows]), torch.from_numpy(b[rows] + a[rows, None]))
    assert doubled.result() == pytest.approx(2.0 * a.mean(), rel=1e-6)
    assert absolute.result() == pytest.approx(np.abs(a).mean(), rel=1e-6)


def test_a_metric_without_result_says_what_to_define():
    class Unfinished(metrics.Metric):
        def reset_state(self):
            pass

    with pytest.raises(NotImplementedError, match="Unfinished must define result"):
        Unfinished().result()
