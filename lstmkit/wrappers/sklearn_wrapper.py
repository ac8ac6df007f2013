"""Keras 3's scikit-learn wrappers: ``SKLearnRegressor`` and ``SKLearnClassifier``.

``model`` is a compiled lstmkit model (each fit trains a fresh copy with new weights) or a function
``build(X, y, **model_kwargs)`` returning one; ``fit_kwargs`` go to ``model.fit`` (``fit(X, y, **kwargs)``
overrides them). A regressor fits a 1-D ``y`` as ``(samples, 1)`` and predicts 1-D again. A classifier
takes labels of any type, trains on them one-hot encoded (``(samples, n_classes)``: a softmax output with
categorical crossentropy), predicts labels and ``predict_proba``; ``classes_`` lists the labels.
Scores are scikit-learn's (R² for the regressor, accuracy for the classifier).

    from lstmkit.wrappers import SKLearnClassifier

    def build(X, y, units=16):
        model = Sequential([LSTM(units, input_shape=X.shape[1:]), Dense(y.shape[1], activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model

    search = GridSearchCV(SKLearnClassifier(build, fit_kwargs={"epochs": 20, "verbose": 0}),
                          {"model_kwargs": [{"units": 4}, {"units": 16}]})
"""

from __future__ import annotations

import numpy as np

from lstmkit.wrappers.base import (
    BaseEstimator,
    ClassifierMixin,
    LabelEncoding,
    RegressorMixin,
    check_compiled,
    clone_compiled,
    num_samples,
    require_sklearn,
)

__all__ = ["SKLearnClassifier", "SKLearnRegressor"]


class SKLBase(BaseEstimator):
    """What the Keras 3 wrappers share. Attributes after ``fit``: ``model_`` (the fitted model),
    ``history_`` (``model.fit``'s History.history dict)."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        require_sklearn(type(self).__name__)
        # Stored as given: scikit-learn's clone() checks that the parameters are the very objects passed.
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # random initial weights, shuffled batches
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": True, "poor_score": True}

    @property
    def epoch_(self) -> int:
        """The number of epochs trained by the last fit."""
        return len(getattr(self, "history_", {}).get("loss", []))

    def _new_model(self, X, y):
        from lstmkit.models import Model

        if isinstance(self.model, Model):
            if self.model_kwargs:
                raise ValueError(
                    "model_kwargs are the arguments of a build function, but model= is a model instance. Pass a "
                    "function that builds and compiles the model: model=build_model."
                )
            return clone_compiled(self.model)
        if not callable(self.model):
            raise TypeError(
                "model must be a compiled lstmkit model or a function build(X, y, **model_kwargs) returning one. "
                f"Received: {self.model!r}"
            )
        return check_compiled(self.model(X=X, y=y, **(self.model_kwargs or {})), "the model function")

    def fit(self, X, y, **kwargs):
        """Fit a new model (the fitted one again if ``warm_start``) on ``X`` as given, e.g.
        ``(samples, timesteps, features)``; ``kwargs`` go to ``model.fit`` over ``fit_kwargs``."""
        num_samples(X, y)
        target = self._encode_target(np.asarray(y), reset=True)
        if self.warm_start and hasattr(self, "model_"):
            model = self.model_
        else:
            model = self._new_model(X, target)
        history = model.fit(X, target, **{**(self.fit_kwargs or {}), **kwargs})
        self.model_ = model
        self.history_ = dict(history.history)
        if getattr(X, "ndim", None) == 2:
            self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        return self._decode_output(self.model_.predict(X, verbose=0))


class SKLearnRegressor(RegressorMixin, SKLBase):
    """scikit-learn regressor around an lstmkit model (Keras 3's ``keras.wrappers.SKLearnRegressor``)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def _encode_target(self, y, reset=False):
        if reset:
            self._one_dimensional = y.ndim == 1
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _decode_output(self, output):
        output = np.asarray(output)
        if self._one_dimensional and output.ndim == 2 and output.shape[1] == 1:
            return output[:, 0]
        return output


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """scikit-learn classifier around an lstmkit model (Keras 3's ``keras.wrappers.SKLearnClassifier``).
    The model trains on one-hot targets; ``classes_`` are the labels, in sorted order."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode_target(self, y, reset=False):
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"SKLearnClassifier takes one class label per sample (binary or multiclass targets); received a "
                f"{kind!r} target of shape {y.shape}."
            )
        if reset:
            self._encoding = LabelEncoding(y)
            self.classes_ = self._encoding.classes_
        return self._encoding.one_hot(y)

    def _decode_output(self, output):
        return self._encoding.labels(output)

    def predict_proba(self, X):
        """The model's class probabilities, ``(samples, n_classes)`` in the order of ``classes_``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict(X, verbose=0))
