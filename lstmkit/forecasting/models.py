"""The model a Forecaster trains: its default LSTM, a user's builder function, or a fresh copy of a user's model.

Every fit (each backtest refit, the final fit) trains a new, untrained model, so that no fit starts from
weights that have seen the data after its cut.
"""

from __future__ import annotations

import inspect

__all__ = ["DEFAULT_UNITS", "build_model", "default_model", "output_steps"]

DEFAULT_UNITS = 32


def default_model(input_shape, outputs, units=DEFAULT_UNITS, dropout=0.0):
    """The Forecaster's default: ``LSTM(units) -> [Dropout] -> Dense(outputs)``, compiled with Adam and MSE.

    Args:
        input_shape: ``(lookback, features)``.
        outputs: values predicted per window (the horizon for the direct strategy, 1 for the recursive one).
        units: LSTM units.
        dropout: rate of a Dropout layer before the output (0: none). Needed for ``method='mc_dropout'``
            intervals: ``Forecaster(model=functools.partial(default_model, dropout=0.2))``.

    Returns:
        A compiled ``Sequential`` mapping ``(n, lookback, features)`` to ``(n, outputs)``.
    """
    from lstmkit.layers import LSTM, Dense, Dropout, Input
    from lstmkit.models import Sequential

    layers = [Input(tuple(input_shape)), LSTM(units)]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(outputs))
    model = Sequential(layers)
    model.compile(optimizer="adam", loss="mse")
    return model


def _copy(model):
    """A new, untrained model with ``model``'s architecture and compile settings."""
    from lstmkit.saving.api import model_from_config
    from lstmkit.saving.training_state import restore_compile, serialize_compile

    try:
        config = {"class_name": type(model).__name__, "config": model.get_config()}
        fresh = model_from_config(config, {type(model).__name__: type(model)})
    except (NotImplementedError, TypeError, ValueError, AttributeError, KeyError) as err:
        raise TypeError(
            f"Forecaster: the model {type(model).__name__} cannot be copied from its config ({err}), and every "
            "fit (each backtest refit) needs a fresh, untrained copy so that no fit starts from weights that saw "
            "later data. Pass a function that builds and compiles the model instead: "
            "model=lambda input_shape, outputs: ..."
        ) from err
    if model.compiled is not None:
        restore_compile(fresh, serialize_compile(model.compiled), {}, "the model")
    return fresh


def _call_builder(builder, input_shape, outputs):
    try:
        parameters = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        parameters = {"input_shape": None, "outputs": None}
    if not parameters:
        return builder()
    return builder(input_shape, outputs)


def build_model(spec, input_shape: tuple, outputs: int):
    """A new compiled model for windows ``input_shape`` predicting ``outputs`` values: from ``spec`` None
    (the default LSTM), a function ``(input_shape, outputs) -> compiled model`` (or one of no arguments), or
    a model (copied untrained)."""
    from lstmkit.models.model import Model

    if spec is None:
        return default_model(input_shape, outputs)
    if isinstance(spec, Model):
        model = _copy(spec)
        source = "the model passed as model="
    elif callable(spec):
        model = _call_builder(spec, input_shape, outputs)
        source = f"the model built by {getattr(spec, '__name__', 'your function')}(input_shape, outputs)"
    else:
        raise TypeError(
            "Forecaster: model must be None (the default LSTM), a function (input_shape, outputs) -> compiled "
            f"lstmkit model, or an lstmkit model. Received: {type(spec).__name__}."
        )
    if not isinstance(model, Model):
        raise TypeError(f"Forecaster: {source} is a {type(model).__name__}, not an lstmkit model.")
    if model.compiled is None:
        raise ValueError(
            f"Forecaster: {source} is not compiled; call model.compile(optimizer=..., loss=...) in it."
        )
    return model


def output_steps(model, input_shape: tuple, outputs: int, strategy: str) -> None:
    """Check that ``model`` maps ``(n, *input_shape)`` to ``outputs`` values per window."""
    try:
        expected = tuple(model.input_shape)[1:]
    except (AttributeError, TypeError, ValueError):
        expected = None
    if expected is not None and all(isinstance(d, int) for d in expected) and expected != tuple(input_shape):
        raise ValueError(
            f"Forecaster: the model expects windows of shape {expected}, but the Forecaster makes windows of "
            f"{input_shape[0]} steps (lookback) of {input_shape[1]} feature(s) (the target, then the covariates): "
            f"{tuple(input_shape)}. Set lookback={expected[0]}, or build the model for input_shape="
            f"{tuple(input_shape)}; a function (input_shape, outputs) -> model adapts by itself."
        )
    shape = tuple(model.compute_output_shape((None,) + tuple(input_shape)))
    values = shape[1:]
    if values in ((outputs,), (outputs, 1)) or (outputs == 1 and values == ()):
        return
    fix = f"Dense({outputs})" + (" as its last layer" if strategy == "direct" else "")
    raise ValueError(
        f"Forecaster: the model outputs {values} per window, but strategy={strategy!r} needs {outputs} value(s) "
        f"per window of shape {tuple(input_shape)} ("
        + (f"the horizon, {outputs} steps at once" if strategy == "direct" else "the next step")
        + f"): end it with {fix}."
    )
