"""The transforms between a series and what the model sees, fitted on the past only and inverted for the target.

``SeriesTransform`` applies, in order: a log of the target, a seasonal difference, a first difference, then a
scaler over the target and covariate columns together. ``fit`` learns on one stretch of history (the past
at a backtest cut); ``inputs`` turns any history into model rows with those learned parameters; ``inverse``
turns scaled model outputs for the target back into the series' units, anchored on the history the forecast
starts from.

Scalers: 'standard' and 'minmax' are built in (no scikit-learn needed); any scikit-learn transformer that works
column by column (StandardScaler, MinMaxScaler, RobustScaler, PowerTransformer, ...) is accepted and cloned for
every fit.
"""

from __future__ import annotations

import copy

import numpy as np

from lstmkit.forecasting.stationarity import needs_first_difference, needs_seasonal_difference
from lstmkit.utils.naming import unknown_name_error

__all__ = ["MinMaxScaler", "SeriesTransform", "StandardScaler", "make_scaler"]


class StandardScaler:
    """Per column: ``(x - mean_) / scale_`` with the population standard deviation (a constant column gets
    scale 1). Attribute names follow scikit-learn's."""

    kind = "standard"

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_

    def inverse_transform(self, x):
        return np.asarray(x, dtype=np.float64) * self.scale_ + self.mean_

    def state(self) -> dict:
        return {"mean_": self.mean_.tolist(), "scale_": self.scale_.tolist()}

    def load_state(self, state: dict) -> None:
        self.mean_, self.scale_ = np.asarray(state["mean_"]), np.asarray(state["scale_"])


class MinMaxScaler:
    """Per column: maps ``[data_min_, data_max_]`` linearly onto ``feature_range`` (default (0, 1)), as
    scikit-learn's MinMaxScaler does (``x * scale_ + min_``)."""

    kind = "minmax"

    def __init__(self, feature_range=(0.0, 1.0)):
        low, high = feature_range
        if not low < high:
            raise ValueError(
                f"MinMaxScaler: feature_range must be (low, high) with low < high. Received: {feature_range}"
            )
        self.feature_range = (float(low), float(high))

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.data_min_, self.data_max_ = x.min(axis=0), x.max(axis=0)
        spread = self.data_max_ - self.data_min_
        low, high = self.feature_range
        self.scale_ = (high - low) / np.where(spread > 0, spread, 1.0)
        self.min_ = low - self.data_min_ * self.scale_
        return self

    def transform(self, x):
        return np.asarray(x, dtype=np.float64) * self.scale_ + self.min_

    def inverse_transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.min_) / self.scale_

    def state(self) -> dict:
        return {
            "feature_range": list(self.feature_range),
            "data_min_": self.data_min_.tolist(),
            "data_max_": self.data_max_.tolist(),
            "scale_": self.scale_.tolist(),
            "min_": self.min_.tolist(),
        }

    def load_state(self, state: dict) -> None:
        self.feature_range = tuple(state["feature_range"])
        for key in ("data_min_", "data_max_", "scale_", "min_"):
            setattr(self, key, np.asarray(state[key]))


class _Identity:
    kind = None

    def fit(self, x):
        return self

    def transform(self, x):
        return np.asarray(x, dtype=np.float64)

    inverse_transform = transform

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


BUILT_IN = {"standard": StandardScaler, "minmax": MinMaxScaler, None: _Identity}


def _fresh(scaler):
    """An unfitted copy of a user's transformer: scikit-learn's clone when it has one."""
    try:
        from sklearn.base import clone

        return clone(scaler)
    except (ImportError, TypeError):
        return copy.deepcopy(scaler)


def make_scaler(spec):
    """A new, unfitted scaler for ``spec``: 'standard', 'minmax', None, or a transformer object (cloned)."""
    if isinstance(spec, str) or spec is None:
        if spec not in BUILT_IN:
            raise unknown_name_error("scaler", spec, [k for k in BUILT_IN if k])
        return BUILT_IN[spec]()
    missing = [m for m in ("fit", "transform", "inverse_transform") if not callable(getattr(spec, m, None))]
    if missing:
        raise TypeError(
            f"scaler must be 'standard', 'minmax', None or a transformer with fit, transform and "
            f"inverse_transform (e.g. sklearn.preprocessing.RobustScaler()). Received {type(spec).__name__}, "
            f"which lacks {', '.join(missing)}."
        )
    return _fresh(spec)


def _check_columnwise(scaler, x: np.ndarray) -> None:
    """A user's transformer must treat columns independently and invert exactly, or the target cannot be
    inverted alone."""
    scaled = np.asarray(scaler.transform(x), dtype=np.float64)
    name = type(scaler).__name__
    if scaled.shape != x.shape:
        raise ValueError(
            f"scaler {name} changes the data's shape ({x.shape} -> {scaled.shape}); it must scale each column "
            "in place (StandardScaler, MinMaxScaler, RobustScaler, PowerTransformer, ...)."
        )
    if not np.allclose(np.asarray(scaler.inverse_transform(scaled)), x, rtol=1e-6, atol=1e-8):
        raise ValueError(
            f"scaler {name}: inverse_transform(transform(x)) does not give x back; it must invert."
        )
    if x.shape[1] > 1:
        probe = x.copy()
        probe[:, 1:] = probe[::-1, 1:]  # other columns changed: the target's scaled values must not move
        if not np.allclose(np.asarray(scaler.transform(probe))[:, 0], scaled[:, 0], rtol=1e-6, atol=1e-8):
            raise ValueError(
                f"scaler {name} mixes columns (the target's scaled values depend on the covariates), so the "
                "target's forecasts cannot be inverted alone. Use a per-column scaler."
            )


class SeriesTransform:
    """Log, seasonal difference, first difference and scaling, fitted on one history.

    ``log``: bool. ``difference``: 0, 1 or 'auto'. ``seasonal_difference``: bool or 'auto' (uses
    ``seasonal_period``). 'auto' decides from the history at ``fit`` (see ``stationarity.choose_differences``).
    """

    def __init__(
        self,
        log=False,
        difference="auto",
        seasonal_difference="auto",
        seasonal_period=None,
        scaler="standard",
    ):
        self.log, self.seasonal_period = bool(log), seasonal_period
        self.difference_setting, self.seasonal_setting = difference, seasonal_difference
        self.scaler_spec = scaler

    # ------------------------------------------------------------------ the target's own steps
    def _logged(self, target: np.ndarray) -> np.ndarray:
        if not self.log:
            return np.asarray(target, dtype=np.float64)
        if np.any(target <= 0):
            raise ValueError(
                f"log=True needs positive values, but the target's minimum is {np.min(target):g}. Use log=False, "
                "or shift the series above 0 first."
            )
        return np.log(target)

    def _seasonally_differenced(self, z: np.ndarray) -> np.ndarray:
        lag = self.seasonal_lag_
        return z[lag:] - z[:-lag] if lag else z

    def _differenced(self, z: np.ndarray) -> np.ndarray:
        z = self._seasonally_differenced(z)
        return np.diff(z) if self.difference_ else z

    @property
    def lost_rows(self) -> int:
        """Rows at the start of a history that differencing consumes."""
        return self.seasonal_lag_ + self.difference_

    # ------------------------------------------------------------------ fit / apply / invert
    def fit(self, target, covariates) -> SeriesTransform:
        z = self._logged(target)
        period = self.seasonal_period
        if self.seasonal_setting == "auto":
            seasonal = needs_seasonal_difference(z, period)
        else:
            seasonal = bool(self.seasonal_setting)
            if seasonal and not period:
                raise ValueError(
                    "seasonal_difference=True needs a seasonal period: pass seasonal_period=... (e.g. 12 for "
                    "monthly data), or use data with a time index whose frequency implies one."
                )
        self.seasonal_lag_ = int(period) if seasonal else 0
        if self.difference_setting == "auto":
            self.difference_ = int(needs_first_difference(self._seasonally_differenced(z)))
        else:
            self.difference_ = int(self.difference_setting)
        if len(z) <= self.lost_rows:
            raise ValueError(
                f"the history has {len(z)} values, too few for a seasonal difference of {self.seasonal_lag_} and "
                f"{self.difference_} first difference(s)."
            )
        rows = self._rows(z, covariates)
        self.width_ = rows.shape[1]
        self.scaler_ = make_scaler(self.scaler_spec)
        self.scaler_.fit(rows)
        if self.scaler_spec is not None and not isinstance(self.scaler_spec, str):
            _check_columnwise(self.scaler_, rows)
        return self

    def _rows(self, z, covariates) -> np.ndarray:
        changes = self._differenced(z)
        covariates = np.asarray(covariates, dtype=np.float64).reshape(len(z), -1)[self.lost_rows :]
        return np.column_stack([changes, covariates])

    def inputs(self, target, covariates) -> np.ndarray:
        """Model rows ``(len(target) - lost_rows, 1 + covariates)`` for a history: target changes first."""
        return np.asarray(
            self.scaler_.transform(self._rows(self._logged(target), covariates)), dtype=np.float64
        )

    def scale_covariates(self, covariates) -> np.ndarray:
        """Future covariate values ``(steps, k)`` scaled as the model saw them (the target column unused)."""
        covariates = np.asarray(covariates, dtype=np.float64)
        rows = np.column_stack([np.zeros(len(covariates)), covariates])
        return np.asarray(self.scaler_.transform(rows), dtype=np.float64)[:, 1:]

    def unscale_target(self, scaled) -> np.ndarray:
        """Scaled target outputs (any shape) back to target changes, inverting the target column alone."""
        scaled = np.asarray(scaled, dtype=np.float64)
        rows = np.zeros((scaled.size, self.width_))
        rows[:, 0] = scaled.reshape(-1)
        return np.asarray(self.scaler_.inverse_transform(rows), dtype=np.float64)[:, 0].reshape(scaled.shape)

    def inverse(self, scaled, history) -> np.ndarray:
        """Forecasts in the series' units from scaled target outputs ``(steps,)``, continuing ``history`` (the
        target values up to the forecast origin)."""
        values = self.unscale_target(scaled)
        z = self._logged(np.asarray(history, dtype=np.float64))
        if self.difference_:
            last = z[-1] - z[-1 - self.seasonal_lag_] if self.seasonal_lag_ else z[-1]
            values = last + np.cumsum(values)
        if self.seasonal_lag_:
            extended = np.concatenate([z, np.empty(len(values))])
            for i, change in enumerate(values):
                extended[len(z) + i] = change + extended[len(z) + i - self.seasonal_lag_]
            values = extended[len(z) :]
        return np.exp(values) if self.log else values

    # ------------------------------------------------------------------ description and persistence
    def state(self) -> dict:
        """The fitted parameters, as plain numbers: what each backtest cut records and ``save`` stores."""
        scaler = self.scaler_
        if hasattr(scaler, "state"):
            parameters = scaler.state()
        else:  # a scikit-learn transformer: its public fitted attributes
            parameters = {
                key: np.asarray(value).tolist()
                for key, value in vars(scaler).items()
                if key.endswith("_") and not key.startswith("_") and np.asarray(value).dtype.kind in "biuf"
            }
        return {
            "log": self.log,
            "seasonal_lag": self.seasonal_lag_,
            "difference": self.difference_,
            "width": self.width_,
            "scaler": getattr(scaler, "kind", type(scaler).__name__),
            "scaler_state": parameters,
        }

    @classmethod
    def from_state(cls, state: dict, seasonal_period=None) -> SeriesTransform:
        """A fitted transform from ``state()`` (built-in scalers only)."""
        scaler = state["scaler"]
        if scaler not in BUILT_IN:
            raise ValueError(
                f"cannot restore a transform with scaler {scaler!r}; only 'standard', 'minmax' or None."
            )
        transform = cls(
            state["log"], state["difference"], bool(state["seasonal_lag"]), seasonal_period, scaler
        )
        transform.seasonal_lag_, transform.difference_ = int(state["seasonal_lag"]), int(state["difference"])
        transform.width_ = int(state["width"])
        transform.scaler_ = make_scaler(scaler)
        transform.scaler_.load_state(state["scaler_state"])
        return transform
