"""Saving a fitted Forecaster to one file and loading it back, without pickle.

The file is a zip of ``forecaster.json`` (settings, resolved plan, fitted transform parameters, time axis),
``.npy`` arrays (the data, the time index, the backtest errors that calibrate intervals) and ``model.keras``
(the trained model, in lstmkit's own model format). Loading never runs code from the file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from lstmkit.forecasting.data import SeriesData
from lstmkit.forecasting.engine import FittedState, Plan
from lstmkit.forecasting.timeindex import TimeAxis, require_pandas
from lstmkit.forecasting.transforms import SeriesTransform

__all__ = ["load_forecaster", "save_forecaster"]

FORMAT = "lstmkit.forecaster"
VERSION = 1
SETTINGS = (
    "lookback",
    "horizon",
    "strategy",
    "scaler",
    "log",
    "difference",
    "seasonal_difference",
    "seasonal_period",
    "covariates",
    "target",
    "time",
    "fill",
    "epochs",
    "batch_size",
    "validation_split",
    "seed",
)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _model_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as handle:
            return handle.read()


def save_forecaster(forecaster, path) -> None:
    from lstmkit.saving.writing import atomic_write

    if not (forecaster.scaler is None or isinstance(forecaster.scaler, str)):
        raise ValueError(
            f"Forecaster.save stores the built-in scalers only ('standard', 'minmax', None); a "
            f"{type(forecaster.scaler).__name__} could only be stored with pickle, which lstmkit's files never "
            "use. Refit with scaler='standard' or 'minmax' to save, or keep the transformer yourself."
        )
    data, plan, state = forecaster.data_, forecaster.plan_, forecaster.state_
    if data.axis.kind == "datetime":
        stamps = data.index.tz_convert("UTC").tz_localize(None) if data.index.tz is not None else data.index
        index = stamps.to_numpy().astype("datetime64[ns]").astype(np.int64)  # nanoseconds since 1970, UTC
    else:
        index = np.asarray(data.index, dtype=np.int64)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "settings": {name: getattr(forecaster, name) for name in SETTINGS},
        "plan": dataclasses.asdict(plan),
        "transform": state.transform.state(),
        "axis": data.axis.state(),
        "target_name": data.target_name,
        "covariate_names": list(data.covariate_names),
        "timezone": str(getattr(data.index, "tz", None) or "") or None,
        "time_unit": getattr(data.index, "unit", None),
        "fit_seconds": state.seconds,
    }
    arrays = {"target.npy": data.target, "covariates.npy": data.covariates, "index.npy": index}
    result = forecaster.backtest_
    if result is not None and result.fingerprint == data.fingerprint() and result.horizon == plan.horizon:
        arrays["residuals.npy"] = result.residuals
    try:
        json_text = json.dumps(document)
    except TypeError as err:
        raise ValueError(f"Forecaster.save: a setting cannot be stored as JSON ({err}).") from None
    with atomic_write(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("forecaster.json", json_text)
        for name, array in arrays.items():
            archive.writestr(name, _npy(array))
        archive.writestr("model.keras", _model_bytes(state.model))


class _Calibration:
    """The part of a BacktestResult that ``predict``'s conformal intervals read."""

    def __init__(self, residuals, fingerprint, horizon):
        self.residuals, self.fingerprint, self.horizon = residuals, fingerprint, horizon
        self.cuts = list(range(len(residuals)))


def load_forecaster(path):
    from lstmkit.forecasting.forecaster import Forecaster
    from lstmkit.saving.api import load_model

    pd = require_pandas()

    def bad(problem):
        return ValueError(f"'{path}' is not a Forecaster file saved by Forecaster.save: {problem}.")

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise bad(f"it cannot be read as one ({err})") from None
    with archive:
        names = set(archive.namelist())
        missing = {"forecaster.json", "target.npy", "covariates.npy", "index.npy", "model.keras"} - names
        if missing:
            raise bad(f"it lacks {sorted(missing)}")
        document = json.loads(archive.read("forecaster.json"))
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise bad(f"its format is {document.get('format')!r} version {document.get('version')!r}")

        def array(name):
            return np.load(io.BytesIO(archive.read(name)), allow_pickle=False)

        target, covariates, index = array("target.npy"), array("covariates.npy"), array("index.npy")
        residuals = array("residuals.npy") if "residuals.npy" in names else None
        with tempfile.TemporaryDirectory() as folder:
            model_path = os.path.join(folder, "model.keras")
            with open(model_path, "wb") as handle:
                handle.write(archive.read("model.keras"))
            model = load_model(model_path)
    forecaster = Forecaster(**document["settings"], model=model)
    axis = TimeAxis.from_state(document["axis"])
    if axis.kind == "datetime":
        stamps = pd.to_datetime(index, unit="ns", utc=bool(document.get("timezone")))
        if document.get("timezone"):
            stamps = stamps.tz_convert(document["timezone"])
        if document.get("time_unit") and hasattr(stamps, "as_unit"):
            stamps = stamps.as_unit(document["time_unit"])  # the resolution the data had (pandas >= 2)
        pandas_index = pd.DatetimeIndex(stamps, name=axis.name, freq=axis.offset)
    else:
        pandas_index = pd.Index(index, name=axis.name)
    forecaster.data_ = SeriesData(
        target, covariates, pandas_index, axis, document["target_name"], document["covariate_names"]
    )
    forecaster.plan_ = Plan(**document["plan"])
    transform = SeriesTransform.from_state(document["transform"], forecaster.plan_.seasonal_period)
    forecaster.state_ = FittedState(
        transform, model, None, len(target), float(document.get("fit_seconds", 0.0))
    )
    if residuals is not None:
        forecaster.backtest_ = _Calibration(
            residuals, forecaster.data_.fingerprint(), forecaster.plan_.horizon
        )
    return forecaster
