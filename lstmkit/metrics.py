"""Metrics with Keras 3's names and math, accumulated on the device.

A metric object keeps running totals as tensors on the device where the data lives:
``update_state`` never synchronises with the host, ``result()`` does (once, when asked).
``'accuracy'``/``'acc'`` (and ``'crossentropy'``) are placeholders that the engine resolves from
the shapes of the labels and the model output, as Keras does; see ``resolve_placeholder``.
"""

from __future__ import annotations

import torch

from lstmkit import initializers, losses
from lstmkit.utils.naming import lookup, snake_case
from lstmkit.variables import Variable

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "get",
    "resolve_placeholder",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


# ---------------------------------------------------------------------------- per-sample functions
def accuracy(y_true, y_pred):
    equal = (y_true == y_pred).to(torch.float32)
    return equal.mean(dim=-1) if equal.dim() > 1 else equal


def binary_accuracy(y_true, y_pred, threshold=0.5):
    predicted = (y_pred > threshold).to(y_true.dtype)
    return (y_true == predicted).to(y_pred.dtype).mean(dim=-1)


def categorical_accuracy(y_true, y_pred):
    return (y_true.argmax(dim=-1) == y_pred.argmax(dim=-1)).to(y_pred.dtype)


def sparse_categorical_accuracy(y_true, y_pred):
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_true.long() == y_pred.argmax(dim=-1)).to(y_pred.dtype)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.argmax(dim=-1, keepdim=True)).any(dim=-1).to(y_pred.dtype)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.long().unsqueeze(-1)).any(dim=-1).to(y_pred.dtype)


# ---------------------------------------------------------------------------- metric objects
class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``, ``reset_state()``.

    Your own metric (Keras 2 and 3 style): create its state in ``__init__`` with ``self.add_weight(name=...,
    initializer='zeros')`` (or ``add_variable``), update it with ``assign``/``assign_add`` in ``update_state``,
    return the value from ``result()`` (a tensor or a number). ``reset_state`` puts every such variable back
    to its initial value unless you override it.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self._variables: list = []
        if _state_made_by_reset(type(self)):
            self.reset_state()

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum", **kwargs):
        """A state variable (Keras's ``Metric.add_weight``): a 0-d (or ``shape``) tensor starting at
        ``initializer``'s value."""
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (() if shape is None else (shape,))
        torch_dtype = getattr(torch, str(dtype or self.dtype or "float32").replace("torch.", ""))
        initializer = initializers.get(initializer)
        variable = Variable(
            torch.as_tensor(initializer(shape, dtype=torch_dtype)).to(torch_dtype), requires_grad=False
        )
        self._variables.append((variable, initializer))
        return variable

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Keras 3's name for ``add_weight``."""
        return self.add_weight(
            name=name, shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation
        )

    @property
    def variables(self) -> list:
        return [v for v, _ in self._variables]

    def reset_state(self):
        if not self._variables:
            raise NotImplementedError(
                f"{type(self).__name__} must define reset_state() or create its state with add_weight()."
            )
        for variable, initializer in self._variables:
            variable.assign(initializer(tuple(variable.shape), dtype=variable.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result_tensor(self) -> torch.Tensor:
        """The current value as a 0-d tensor on the device (no host synchronisation)."""
        value = self.result()
        return value if isinstance(value, torch.Tensor) else torch.as_tensor(float(value))

    def result(self):
        if type(self).result_tensor is Metric.result_tensor:  # the two defaults would call each other forever
            raise NotImplementedError(
                f"{type(self).__name__} must define result(), returning the metric's value (a tensor or a number)."
            )
        return float(self.result_tensor())

    def reset_states(self):  # Keras 2 spelling
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's ``metric(y_true, y_pred)``: update with this batch and return the result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _state_made_by_reset(cls) -> bool:
    """Whether ``cls``'s ``reset_state`` also creates its state, so that ``__init__`` must call it: lstmkit's
    own metrics and your subclasses of them. Your own ``reset_state`` (Keras style: it assigns variables that
    your ``__init__`` makes after ``super().__init__()``) and variables from ``add_weight`` are left to you."""
    owner = next(klass for klass in cls.__mro__ if "reset_state" in klass.__dict__)
    return owner is not Metric and owner.__module__.startswith("lstmkit.")


class Mean(Metric):
    """Weighted mean of all values seen since the last reset."""

    def reset_state(self):
        self.total = None
        self.count = None

    def _accumulate(self, values, sample_weight=None):
        values = values.detach()
        if sample_weight is not None:
            weight = sample_weight.detach().to(values.dtype)
            while weight.dim() < values.dim():
                weight = weight.unsqueeze(-1)
            weight = weight.expand_as(values)
            total, count = (values * weight).sum(), weight.sum()
        else:
            total, count = values.sum(), values.numel()
        if self.total is None:
            self.total = total.to(torch.float64)
            self.count = torch.as_tensor(count, dtype=torch.float64, device=values.device)
        else:
            self.total += total
            self.count += count

    def update_state(self, values, sample_weight=None):
        self._accumulate(torch.as_tensor(values), sample_weight)

    def result_tensor(self):
        if self.total is None:
            return torch.zeros((), dtype=torch.float64)
        return self.total / self.count.clamp(min=1e-12)


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn = fn
        self.fn_kwargs = kwargs
        super().__init__(name=name or fn.__name__, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def get_config(self):
        return {"name": self.name, **self.fn_kwargs}


def _wrapper_class(class_name, fn, default_name, **defaults):
    params = ", ".join(f"{k}={v!r}" for k, v in defaults.items())

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(
                f"{class_name} got unexpected keyword argument(s) {sorted(unknown)}. Accepted: "
                f"name, dtype{', ' + params if params else ''}."
            )
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})

    doc = f"Mean of ``{fn.__name__}`` over all samples seen."
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc})


Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy")
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy"
)
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy", k=5
)
SparseTopKCategoricalAccuracy = _wrapper_class(
    "SparseTopKCategoricalAccuracy",
    sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy",
    k=5,
)
MeanSquaredError = _wrapper_class("MeanSquaredError", losses.mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", losses.mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error, "mean_absolute_percentage_error"
)
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error, "mean_squared_logarithmic_error"
)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy",
    losses.binary_crossentropy,
    "binary_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy",
    losses.categorical_crossentropy,
    "categorical_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy",
    losses.sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    from_logits=False,
)


class RootMeanSquaredError(Mean):
    """``sqrt(mean((y_pred - y_true)**2))`` over everything seen (not a mean of per-batch roots)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(torch.square(y_pred - y_true), sample_weight)

    def result_tensor(self):
        return torch.sqrt(super().result_tensor())


class _ConfusionCounts(Metric):
    """Counts of true/false positives and false negatives at a threshold (binary outputs)."""

    def __init__(self, thresholds=0.5, name=None, dtype=None):
        self.thresholds = float(thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.tp = self.fp = self.fn = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = y_pred.detach() > self.thresholds
        actual = y_true.detach() > 0.5
        weight = torch.ones_like(y_pred, dtype=torch.float64)
        if sample_weight is not None:
            w = sample_weight.detach().to(torch.float64)
            while w.dim() < weight.dim():
                w = w.unsqueeze(-1)
            weight = weight * w
        counts = [
            (weight * (predicted & actual)).sum(),
            (weight * (predicted & ~actual)).sum(),
            (weight * (~predicted & actual)).sum(),
        ]
        if self.tp is None:
            self.tp, self.fp, self.fn = counts
        else:
            self.tp, self.fp, self.fn = self.tp + counts[0], self.fp + counts[1], self.fn + counts[2]

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds}


class Precision(_ConfusionCounts):
    def __init__(self, thresholds=0.5, name="precision", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result_tensor(self):
        if self.tp is None:
            return torch.zeros((), dtype=torch.float64)
        denominator = self.tp + self.fp
        return torch.where(
            denominator > 0, self.tp / denominator.clamp(min=1e-12), torch.zeros_like(denominator)
        )


class Recall(_ConfusionCounts):
    def __init__(self, thresholds=0.5, name="recall", dtype=None):
        super().__init__(thresholds, name, dtype)

    def result_tensor(self):
        if self.tp is None:
            return torch.zeros((), dtype=torch.float64)
        denominator = self.tp + self.fn
        return torch.where(
            denominator > 0, self.tp / denominator.clamp(min=1e-12), torch.zeros_like(denominator)
        )


# ---------------------------------------------------------------------------- lookup
PLACEHOLDERS = ("accuracy", "acc", "crossentropy", "ce")

_BY_NAME = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "rmse": RootMeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "precision": Precision,
    "recall": Recall,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values()) | {Accuracy}}


def get(identifier) -> Metric:
    """A fresh Metric object from a name ('mae'), a class, an object, or a per-sample function.

    String names keep the user's spelling as the metric's name (so logs say 'mae' if you wrote 'mae').
    Placeholders ('accuracy', 'acc', ...) are resolved by ``resolve_placeholder`` instead.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        cls = lookup("metric", identifier, {**_BY_NAME, **{p: None for p in PLACEHOLDERS}})
        if cls is None:
            raise ValueError(f"{identifier!r} is resolved from the data shapes; call resolve_placeholder().")
        return cls(name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise TypeError(
        f"Could not interpret metric {identifier!r}. Pass a name such as 'mae' or 'accuracy', a Metric "
        "object, or a callable (y_true, y_pred) -> per-sample values."
    )


def resolve_placeholder(name: str, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """Keras's rule for 'accuracy'/'acc' (and 'crossentropy'), from the label and output shapes.

    Output width 1 -> binary; labels of lower rank than the output, or of width 1 against a wider
    output -> sparse categorical; otherwise categorical. The metric keeps the user's name.
    """
    binary = y_pred_shape[-1] == 1
    sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] != 1)
    if name in ("accuracy", "acc"):
        cls = BinaryAccuracy if binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
    else:
        cls = (
            BinaryCrossentropy
            if binary
            else SparseCategoricalCrossentropy
            if sparse
            else CategoricalCrossentropy
        )
    return cls(name=name)


def serialize(metric):
    """A name for strings and plain functions, else ``{"class_name", "config"}``."""
    if isinstance(metric, str):
        return metric
    if not isinstance(metric, Metric):
        return getattr(metric, "__name__", repr(metric))
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config, custom_objects=None):
    """The inverse of ``serialize`` (names stay names: compile resolves them)."""
    if isinstance(config, str):
        return (custom_objects or {}).get(config, config)
    table = {**_CLASSES, **(custom_objects or {})}
    return lookup("metric class", config["class_name"], table).from_config(config.get("config", {}))
