"""Prediction intervals: split-conformal per horizon step, and Monte-Carlo dropout.

Conformal: a backtest leaves, for every cut and every step ``h`` ahead, the error the model made. The
interval for step ``h`` is the forecast plus or minus the ``ceil((n + 1) * coverage)``-th smallest absolute
error at step ``h`` among the ``n`` cuts. If future errors behave like past ones (exchangeable), it covers
the truth with probability at least ``coverage`` — no assumption on their distribution.

MC dropout: with its dropout layers left on, the model gives a different forecast on every pass; the
quantiles of many passes bound the forecast. It reflects the model's uncertainty only (not the noise of the
series), so its coverage should be checked on a backtest.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["DropoutPredictor", "check_coverage", "conformal_quantiles", "leave_one_out_intervals", "min_cuts"]


def check_coverage(coverage) -> float:
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0 < coverage < 1:
        raise ValueError(
            f"coverage must be a number between 0 and 1, e.g. 0.9. Received: coverage={coverage!r}"
        )
    return float(coverage)


def min_cuts(coverage) -> int:
    """The fewest backtest errors per step for which a ``coverage`` interval is finite: the smallest ``n``
    with ``ceil((n + 1) * coverage) <= n`` (9 for 0.9, 19 for 0.95)."""
    coverage = check_coverage(coverage)
    n = 1
    while math.ceil((n + 1) * coverage - 1e-9) > n:
        n += 1
    return n


def conformal_quantiles(residuals, coverage) -> np.ndarray:
    """Per horizon step, the half-width of the ``coverage`` interval from backtest errors ``(cuts, steps)``."""
    coverage = check_coverage(coverage)
    errors = np.abs(np.asarray(residuals, dtype=np.float64))
    if errors.ndim != 2:
        raise ValueError(f"residuals must be (cuts, steps); received shape {errors.shape}.")
    n = errors.shape[0]
    rank = math.ceil((n + 1) * coverage - 1e-9)
    if rank > n:
        raise ValueError(
            f"a {coverage:.0%} conformal interval needs at least {min_cuts(coverage)} backtest cuts; the backtest "
            f"has {n}. Backtest with more cuts (an earlier start=, or a smaller stride=), or ask for coverage <= "
            f"{n / (n + 1):.2f}."
        )
    return np.sort(errors, axis=0)[rank - 1]


def leave_one_out_intervals(residuals, coverage) -> np.ndarray:
    """Half-widths ``(cuts, steps)``: for each cut, the conformal interval calibrated on the *other* cuts, so
    that whether it covers that cut's truth is an honest check of the coverage."""
    errors = np.asarray(residuals, dtype=np.float64)
    n = errors.shape[0]
    if n - 1 < min_cuts(coverage):
        raise ValueError(
            f"checking a {coverage:.0%} interval on the backtest needs at least {min_cuts(coverage) + 1} cuts "
            f"(each one calibrated on the others); the backtest has {n}. Backtest with more cuts (an earlier "
            "start=, or a smaller stride=)."
        )
    return np.stack([conformal_quantiles(np.delete(errors, i, axis=0), coverage) for i in range(n)])


def _dropout_layers(model) -> list:
    """Layers that perturb their input in training: Dropout-like layers (``rate``), noise (``stddev``), and
    recurrent layers whose cell has ``dropout`` or ``recurrent_dropout``."""
    found = []
    for layer in model.sublayers() if hasattr(model, "sublayers") else []:
        rates = [getattr(layer, "rate", 0), getattr(layer, "stddev", 0)]
        cell = getattr(layer, "cell", None)
        if cell is not None:
            rates += [getattr(cell, "dropout", 0), getattr(cell, "recurrent_dropout", 0)]
        active = any(isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0 for r in rates)
        if active and getattr(layer, "_call_takes", lambda name: False)("training"):
            found.append(layer)
    return found


class DropoutPredictor:
    """``predict(x)`` with the model's dropout (and noise) layers active and everything else in inference mode
    (BatchNormalization keeps its moving statistics): every call is one Monte-Carlo sample.

    The model runs in the inference phase (``training=False``); only the dropout layers' own calls are given
    ``training=True``, whatever phase they would inherit.
    """

    def __init__(self, model):
        self.model = model
        self.layers = _dropout_layers(model)
        if not self.layers:
            raise ValueError(
                "method='mc_dropout' needs a model with dropout (a Dropout layer, or dropout= on a recurrent "
                "layer); this one has none. Build one, e.g. Forecaster(model=functools.partial("
                "lstmkit.forecasting.default_model, dropout=0.2)), or use method='conformal'."
            )
        self._checked = False

    @contextmanager
    def _dropout_on(self):
        for layer in self.layers:
            original = layer.call

            def forced(inputs, *args, _call=original, **kwargs):
                kwargs["training"] = True
                return _call(inputs, *args, **kwargs)

            layer.call = forced  # an instance attribute: found before the class's call
        try:
            yield
        finally:
            for layer in self.layers:
                del layer.call

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), self._dropout_on():
            return self.model(x, training=False)

    def predict(self, x) -> np.ndarray:
        dtype = next(self.model.parameters()).dtype
        x = torch.as_tensor(np.asarray(x), dtype=dtype, device=self.model.current_device())
        out = self._call(x)
        if not self._checked:
            if torch.equal(out, self._call(x)):
                raise ValueError(
                    "method='mc_dropout': the model's dropout layers did not change its output between passes, so "
                    "Monte-Carlo sampling would give zero-width intervals. Use method='conformal'."
                )
            self._checked = True
        return out.cpu().numpy()
