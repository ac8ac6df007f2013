"""What the scikit-learn wrappers share: the optional import of scikit-learn, building and cloning models,
and turning class labels of any type into what a Keras model trains on.

Inputs are passed to the model as they come: a 3-D array ``(samples, timesteps, features)`` is not
flattened or checked by scikit-learn's 2-D validation, so recurrent models work inside GridSearchCV,
cross_val_score and Pipeline (scikit-learn only slices the samples).
"""

from __future__ import annotations

import copy

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # the wrappers then refuse to be created, with the install command
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass


__all__ = [
    "BaseEstimator",
    "ClassifierMixin",
    "LabelEncoding",
    "RegressorMixin",
    "check_compiled",
    "clone_compiled",
    "num_samples",
    "require_sklearn",
]


def require_sklearn(owner: str) -> None:
    if sklearn is None:
        raise ImportError(
            f"{owner} needs scikit-learn, which is not installed. Install it with: pip install 'lstmkit[sklearn]'"
        )


def num_samples(X, y=None) -> int:
    """The number of samples; an error when X and y disagree."""
    n = len(X)
    if y is not None and len(y) != n:
        raise ValueError(
            f"X and y must have one row per sample; received {n} samples in X and {len(y)} in y."
        )
    return n


def check_compiled(model, where: str):
    """``model`` if it is a compiled lstmkit model, else a TypeError/ValueError saying what to do."""
    from lstmkit.models import Model

    if not isinstance(model, Model):
        raise TypeError(
            f"{where} must give an lstmkit model (e.g. Sequential([...])). Received: {model!r} "
            f"(type {type(model).__name__})."
        )
    if model.compiled is None:
        raise ValueError(
            f"The model from {where} is not compiled. Call model.compile(optimizer=..., loss=...) before "
            "returning it."
        )
    return model


def clone_compiled(model):
    """A new model with ``model``'s architecture and compile settings and fresh weights (Keras's
    ``clone_model`` followed by the same ``compile``): every fit of a wrapper starts anew."""
    from lstmkit import optimizers
    from lstmkit.models.cloning import clone_model

    check_compiled(model, "model=")
    try:
        clone = clone_model(model)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Cannot clone model '{model.name}' ({error}). Pass a function that builds and compiles the model "
            "instead: model=build_model, with model_kwargs=... for its arguments."
        ) from error
    compiled = model.compiled
    clone.compile(
        optimizer=optimizers.deserialize(optimizers.serialize(compiled.optimizer)),
        loss=copy.deepcopy(compiled.loss_identifier),
        metrics=copy.deepcopy(compiled.metrics_identifier),
        weighted_metrics=copy.deepcopy(compiled.weighted_metrics_identifier),
        loss_weights=copy.deepcopy(compiled.loss_weights_identifier),
    )
    return clone


class LabelEncoding:
    """Class labels of any type (strings, ints, bools...) <-> class indices ``0 .. n_classes - 1``.

    ``classes_`` is sorted as ``np.unique`` sorts them, as scikit-learn's classifiers do."""

    def __init__(self, y):
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                f"A classifier takes one label per sample, shape (samples,); received y of shape {labels.shape}. "
                "For one-hot targets pass the class indices, e.g. y.argmax(axis=1)."
            )
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise ValueError(
                f"A classifier needs at least two classes in y; received only {self.classes_.tolist()}."
            )

    def indices(self, y) -> np.ndarray:
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        found = np.searchsorted(self.classes_, labels)
        found = np.clip(found, 0, len(self.classes_) - 1)
        unknown = labels[self.classes_[found] != labels]
        if unknown.size:
            raise ValueError(
                f"y holds labels the classifier was not fitted on: {np.unique(unknown).tolist()[:5]}. "
                f"Its classes: {self.classes_.tolist()}."
            )
        return found

    def one_hot(self, y) -> np.ndarray:
        return np.eye(len(self.classes_), dtype="float32")[self.indices(y)]

    def labels(self, probabilities) -> np.ndarray:
        """The label of the most probable class: argmax over classes, or ``p > 0.5`` for one sigmoid output."""
        probabilities = np.asarray(probabilities)
        if probabilities.ndim == 2 and probabilities.shape[1] > 1:
            return self.classes_[probabilities.argmax(axis=1)]
        return self.classes_[(probabilities.reshape(len(probabilities)) > 0.5).astype(int)]


def two_columns(probabilities) -> np.ndarray:
    """(samples, n_classes) probabilities; one sigmoid column p becomes [1 - p, p]."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim == 1:
        probabilities = probabilities[:, None]
    if probabilities.shape[1] == 1:
        return np.hstack([1.0 - probabilities, probabilities])
    return probabilities
