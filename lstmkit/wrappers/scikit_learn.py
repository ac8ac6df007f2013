"""Keras 2's scikit-learn wrappers (``keras.wrappers.scikit_learn``): ``KerasRegressor`` and ``KerasClassifier``.

``KerasClassifier(build_fn=create_model, epochs=50, batch_size=16, units=32)``: every keyword is a
parameter for scikit-learn (``get_params``/``set_params``/``clone``, grid searches) and goes where it is
accepted: to ``build_fn`` if it names it, and to ``fit``/``predict``/``evaluate`` if they take it. A
keyword that none of them takes is refused. As in Keras 2, ``fit`` returns the History, the fitted model
is ``self.model``, ``KerasClassifier.score`` is the model's accuracy (compile it with
``metrics=['accuracy']``) and ``KerasRegressor.score`` is minus the loss (higher is better). A classifier's
labels may be of any type; the model trains on class indices (one-hot with ``categorical_crossentropy``),
``predict`` returns labels and ``predict_proba`` one column per class.
"""

from __future__ import annotations

import copy
import inspect
import types

import numpy as np

from lstmkit.utils.naming import did_you_mean
from lstmkit.wrappers.base import (
    BaseEstimator,
    ClassifierMixin,
    LabelEncoding,
    RegressorMixin,
    check_compiled,
    require_sklearn,
    two_columns,
)

__all__ = ["KerasClassifier", "KerasRegressor"]


def _named_arguments(fn) -> set[str]:
    """The parameters ``fn`` names (not those only a ``**kwargs`` would take, as Keras 2's has_arg)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}


def _model_method_arguments() -> set[str]:
    from lstmkit.models import Model

    names = set()
    for method in (Model.fit, Model.predict, Model.predict_classes, Model.evaluate):
        names |= _named_arguments(method)
    return (names | {"nb_epoch"}) - {"x", "y"}


def _is_categorical(loss) -> bool:
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__)
    return name in ("categorical_crossentropy", "CategoricalCrossentropy")


class BaseWrapper(BaseEstimator):
    """Keras 2's ``BaseWrapper``: ``build_fn`` plus the keyword parameters ``sk_params``."""

    def __init__(self, build_fn=None, **sk_params):
        require_sklearn(type(self).__name__)
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    # ------------------------------------------------------------------ parameters (scikit-learn's protocol)
    def _build_target(self):
        if self.build_fn is None:
            return self.__call__
        if isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn
        return self.build_fn.__call__  # an object (e.g. a class instance) with __call__

    def check_params(self, params) -> None:
        """Refuse a keyword that neither the build function nor fit/predict/evaluate accepts."""
        if self.build_fn is not None and not callable(self.build_fn):
            raise TypeError(f"build_fn must be a function or a callable object. Received: {self.build_fn!r}")
        legal = _model_method_arguments() | _named_arguments(self._build_target())
        for name in params:
            if name not in legal:
                hint = did_you_mean(name, legal)
                raise ValueError(
                    f"{name} is not a legal parameter: neither the build function nor fit/predict/evaluate "
                    f"takes it.{hint} Add it to the build function's arguments to use it there."
                )

    def get_params(self, deep=True) -> dict:
        return {**self.sk_params, "build_fn": self.build_fn}

    def set_params(self, **params):
        if "build_fn" in params:
            self.build_fn = params.pop("build_fn")
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None) -> dict:
        """The parameters that ``fn`` names, from ``sk_params`` then ``override``."""
        names = _named_arguments(fn)
        chosen = {k: v for k, v in self.sk_params.items() if k in names}
        chosen.update({k: v for k, v in (override or {}).items() if k in names})
        return chosen

    # ------------------------------------------------------------------ fitting
    def _build(self):
        target = self._build_target()
        model = target(**self.filter_sk_params(target))
        return check_compiled(model, "build_fn")

    def fit(self, x, y, **kwargs):
        """Build a new model with ``build_fn`` and fit it on ``x`` as given (e.g. ``(samples, timesteps,
        features)``); ``kwargs`` override the fit parameters. Returns the History, as Keras 2 does."""
        from lstmkit.models import Model

        self.model = self._build()
        y = np.asarray(y)
        if _is_categorical(self.model.loss) and y.ndim != 2:
            y = np.eye(self._num_classes(y), dtype="float32")[y]
        fit_args = copy.deepcopy(self.filter_sk_params(Model.fit))
        if "nb_epoch" in self.sk_params and "epochs" not in fit_args:
            fit_args["epochs"] = self.sk_params["nb_epoch"]
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)

    def _num_classes(self, y) -> int:
        return int(y.max()) + 1

    def _check_fitted(self) -> None:
        if getattr(self, "model", None) is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(x, y) first.")

    def _method_args(self, method, kwargs) -> dict:
        from lstmkit.models import Model

        args = self.filter_sk_params(getattr(Model, method), kwargs)
        args.setdefault("verbose", 0)  # no progress bar per prediction or score inside a search
        return args


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """Keras 2's scikit-learn classifier. ``classes_`` holds the labels seen by ``fit``."""

    def fit(self, x, y, sample_weight=None, **kwargs):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:  # one-hot already
            self.classes_ = np.arange(y.shape[1])
            self._encoding = None
            indices = y.argmax(axis=1)
        else:
            self._encoding = LabelEncoding(y)
            self.classes_ = self._encoding.classes_
            indices = self._encoding.indices(y)
        self.n_classes_ = len(self.classes_)
        target = y if self._encoding is None else indices
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, target, **kwargs)

    def _num_classes(self, y) -> int:
        return self.n_classes_

    def predict(self, x, **kwargs):
        """The predicted labels."""
        probabilities = self.predict_proba(x, **kwargs)
        return self.classes_[probabilities.argmax(axis=1)]

    def predict_proba(self, x, **kwargs):
        """Probabilities ``(samples, n_classes)``; one sigmoid output p becomes ``[1 - p, p]``."""
        self._check_fitted()
        return two_columns(self.model.predict(x, **self._method_args("predict", kwargs)))

    def score(self, x, y, sample_weight=None, **kwargs):
        """The model's accuracy on ``(x, y)``, from ``evaluate`` (Keras 2)."""
        self._check_fitted()
        y = np.asarray(y)
        target = y if self._encoding is None else self._encoding.indices(y)
        if _is_categorical(self.model.loss) and target.ndim != 2:
            target = np.eye(self.n_classes_, dtype="float32")[target]
        args = self._method_args("evaluate", kwargs)
        results = self.model.evaluate(x, target, sample_weight=sample_weight, return_dict=True, **args)
        for name in ("accuracy", "acc"):
            if name in results:
                return float(results[name])
        raise ValueError(
            "The model is not configured to compute accuracy, which KerasClassifier.score returns. Pass "
            "metrics=['accuracy'] to model.compile() in the build function."
        )


class KerasRegressor(RegressorMixin, BaseWrapper):
    """Keras 2's scikit-learn regressor."""

    def fit(self, x, y, sample_weight=None, **kwargs):
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The predictions; a single output column is returned as a 1-D array."""
        self._check_fitted()
        output = np.asarray(self.model.predict(x, **self._method_args("predict", kwargs)))
        return output[:, 0] if output.ndim == 2 and output.shape[1] == 1 else output

    def score(self, x, y, sample_weight=None, **kwargs):
        """Minus the model's loss on ``(x, y)`` (Keras 2: higher is better)."""
        self._check_fitted()
        args = self._method_args("evaluate", kwargs)
        loss = self.model.evaluate(x, np.asarray(y), sample_weight=sample_weight, **args)
        return -float(loss[0] if isinstance(loss, (list, tuple)) else loss)
