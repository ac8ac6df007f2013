"""``recursive_forecast``: forecast beyond the data with a trained model by feeding its predictions back in.

A model trained on windows ``(lookback, features) -> next value(s)`` knows nothing of the future; to forecast
``steps`` values past the end of the data, predict from the last window, append the prediction to the window
(dropping its oldest row), predict again, and so on. A model that outputs ``k`` steps at once (``Dense(k)``)
advances the window ``k`` rows per call.
"""

from __future__ import annotations

import numpy as np

from lstmkit.utils.checks import as_rows, check_int

__all__ = ["recursive_forecast"]

OWNER = "recursive_forecast"


def _windows(window) -> tuple[np.ndarray, bool, bool]:
    """``window`` as a float array ``(n, lookback, features)``; whether it was one window; whether it was 1-D."""
    arr = as_rows(window, "window", OWNER)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{OWNER}: the window holds non-numeric values (dtype {arr.dtype}); pass the numeric columns the "
                "model was trained on, e.g. df[['sales', 'price']].to_numpy()."
            ) from None
    if arr.ndim == 1:
        return arr[None, :, None].astype(np.float64), True, True
    if arr.ndim == 2:
        return arr[None].astype(np.float64), True, False
    if arr.ndim == 3:
        return arr.astype(np.float64), False, False
    raise ValueError(
        f"{OWNER}: window must be (lookback,), (lookback, features) or a batch (n, lookback, features); "
        f"received shape {arr.shape}."
    )


def _target_position(target, window, n_features: int):
    """Position of the predicted column, or None when the model predicts every feature."""
    if target is None:
        return 0 if n_features == 1 else None
    columns = list(window.columns) if hasattr(window, "columns") else []
    if columns and target in columns:
        return columns.index(target)
    if isinstance(target, (int, np.integer)) and not isinstance(target, (bool, np.bool_)):
        if not -n_features <= target < n_features:
            raise ValueError(
                f"{OWNER}: target={target} is out of range for windows of {n_features} feature(s) "
                f"(positions 0..{n_features - 1})."
            )
        return int(target) % n_features
    if columns:
        raise ValueError(f"{OWNER}: target={target!r} is not a column of the window; its columns: {columns}.")
    raise TypeError(
        f"{OWNER}: target must be a column position (int), or a column name when the window is a DataFrame. "
        f"Received: target={target!r}"
    )


def _check_model_input(model, lookback: int, n_features: int) -> None:
    try:
        expected = tuple(model.input_shape)[1:]
    except (AttributeError, TypeError, ValueError):
        return  # not built yet, or not a Sequential: predict checks the shape itself
    if (
        len(expected) == 2
        and all(isinstance(d, int) for d in expected)
        and expected != (lookback, n_features)
    ):
        raise ValueError(
            f"{OWNER}: the window has {lookback} steps of {n_features} feature(s), but the model expects windows "
            f"of shape {expected} (lookback {expected[0]}, {expected[1]} feature(s)). Pass the last "
            f"{expected[0]} rows of the {expected[1]} column(s) the model was trained on."
        )


def _predict(model, batch: np.ndarray, batch_size) -> np.ndarray:
    from lstmkit.models.model import Model

    if isinstance(model, Model):
        return np.asarray(model.predict(batch, batch_size=batch_size, verbose=0))
    return np.asarray(model.predict(batch))


def _steps_per_call(out: np.ndarray, n: int, target, n_features: int) -> int:
    """How many future steps one prediction covers, checking the output's shape against the window's."""
    shape = out.shape
    if out.ndim == 0 or shape[0] != n:
        raise ValueError(
            f"{OWNER}: the model returned shape {shape} for {n} window(s); expected one row per window."
        )
    if target is not None:  # the model predicts one column: (n,), (n, k) or (n, k, 1)
        if out.ndim == 1:
            return 1
        if out.ndim == 2 or (out.ndim == 3 and shape[2] == 1):
            return shape[1]
        raise ValueError(
            f"{OWNER}: the model outputs {shape[1:]} per window, but a forecast of one target column needs k "
            f"values per window, (n, k) or (n, k, 1). If the model predicts every feature of the next step(s), "
            f"leave target=None."
        )
    if out.ndim == 2 and shape[1] == n_features:  # every feature of the next step
        return 1
    if out.ndim == 3 and shape[2] == n_features:  # every feature of the next k steps
        return shape[1]
    raise ValueError(
        f"{OWNER}: the window has {n_features} features, and with target=None the model must predict all of "
        f"them: (n, {n_features}) or (n, k, {n_features}); it outputs {shape[1:]} per window. If it predicts one "
        "column while the others are known in advance (covariates), name that column with target=... and pass "
        "the other columns' future values as covariates."
    )


def _future_covariates(covariates, n: int, needed: int, n_covariates: int) -> np.ndarray:
    arr = as_rows(covariates, "covariates", OWNER).astype(np.float64)
    if arr.ndim == 1 and n_covariates == 1:
        arr = arr[:, None]
    if arr.ndim == 2:
        arr = np.broadcast_to(arr, (n,) + arr.shape)
    if arr.ndim != 3 or arr.shape[0] != n or arr.shape[2] != n_covariates or arr.shape[1] < needed:
        raise ValueError(
            f"{OWNER}: covariates must hold the future values of the {n_covariates} non-target feature(s) for "
            f"at least the {needed} step(s) that are fed back: shape ({needed}, {n_covariates}), or "
            f"({n}, {needed}, {n_covariates}) for {n} windows. Received shape {np.shape(covariates)}."
        )
    return arr


def recursive_forecast(model, window, steps, target=None, covariates=None, batch_size=None):
    """Forecast ``steps`` values past the end of ``window``, feeding each prediction back in.

    Args:
        model: a trained model mapping windows ``(n, lookback, features)`` to the next value(s): ``(n,)`` or
            ``(n, 1)`` for one step, ``(n, k)`` (or ``(n, k, 1)``) for ``k`` steps at once (the window then
            advances ``k`` rows per call), or, with ``target=None`` and several features, ``(n, features)`` /
            ``(n, k, features)`` when it predicts every feature. Any lstmkit model, or an object with
            ``predict(x)``.
        window: the last ``lookback`` rows of the (already scaled) data: ``(lookback,)`` for one feature,
            ``(lookback, features)`` (array or DataFrame), or a batch of windows ``(n, lookback, features)``
            forecast together.
        steps: how many future steps to return.
        target: the column the model predicts (position, or name for a DataFrame window) when the window
            has several features and the model predicts only that one; the other columns are then
            covariates whose future values must be known. None: a one-feature window, or a model that
            predicts every feature.
        covariates: the future values of the non-target columns, in their window order, shape
            ``(steps, features - 1)`` (or ``(n, steps, features - 1)`` per window). Needed only for the rows
            that are fed back in.
        batch_size: passed to ``model.predict``.

    Returns:
        The forecasts, ``(steps,)`` for one window of one target, ``(steps, features)`` when every feature
        is predicted; a leading ``n`` axis for a batch of windows.
    """
    steps = check_int(steps, "steps", 1, owner=OWNER)
    windows, single, _ = _windows(window)
    n, lookback, n_features = windows.shape
    if lookback < 1 or n < 1:
        raise ValueError(
            f"{OWNER}: the window is empty (shape {windows.shape}); pass the last lookback rows."
        )
    if not np.isfinite(windows).all():
        raise ValueError(f"{OWNER}: the window contains NaN or infinite values; fill or drop them first.")
    position = _target_position(target, window, n_features)
    _check_model_input(model, lookback, n_features)
    others = [i for i in range(n_features) if i != position] if position is not None else []
    if covariates is not None and not others:
        raise ValueError(
            f"{OWNER}: covariates were given, but "
            + (
                "the window has a single feature, the target."
                if n_features == 1
                else "target=None means the model predicts every feature. Name the predicted column with target=."
            )
        )

    forecasts, produced, future = [], 0, None
    while produced < steps:
        out = _predict(model, windows, batch_size)
        k = _steps_per_call(out, n, position, n_features)
        if position is None:
            block = out.reshape(n, k, n_features)
        else:
            block = out.reshape(n, k)
        forecasts.append(block)
        produced += k
        if produced >= steps:
            break
        if position is None:
            rows = block.astype(np.float64)
        else:
            rows = np.empty((n, k, n_features))
            rows[:, :, position] = block
            if others:
                if covariates is None:
                    raise ValueError(
                        f"{OWNER}: the window has {n_features} features and the model predicts only column "
                        f"{position}; to feed predictions back, the future values of the other {len(others)} "
                        f"column(s) are needed: pass covariates= with shape ({steps}, {len(others)})."
                    )
                if future is None:
                    needed = steps - ((steps - 1) % k) - 1  # rows fed back: every full block but the last
                    future = _future_covariates(covariates, n, needed, len(others))
                rows[:, :, others] = future[:, produced - k : produced]
        windows = np.concatenate([windows, rows], axis=1)[:, -lookback:]
    result = np.concatenate(forecasts, axis=1)[:, :steps]
    return result[0] if single else result
