"""Argument checks shared by lstmkit: integers and numbers (NumPy scalars accepted wherever Python's
are), and arrays one row per timestep.

Use these instead of writing ``isinstance(value, bool) or not isinstance(value, int)`` again: real code
passes ``np.int64`` (from ``np.argmax``, pandas, arithmetic on NumPy values) and ``np.float32``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import torch

__all__ = [
    "ArgumentTypeError",
    "as_rows",
    "check_int",
    "check_number",
    "is_int",
    "mentioned",
    "warn_extreme_values",
]

EXTREME_MAGNITUDE = 1e15  # float32 squares of such values overflow; any loss on them is meaningless
FEATURE_SCALE_RATIO = 1e6  # features this many times apart in scale: the small ones are ignored
_CHUNK_ELEMENTS = 1 << 20


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. Both a TypeError (what it is) and a ValueError (what such checks
    raised before they were shared), so that either ``except`` catches it."""


def _shown(value) -> str:
    """``8``, ``np.int64(8)`` -> 'np.int64(8) (type numpy.int64)' for the 'Received:' part."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"{text} (type {module}{kind.__name__})"


def is_int(value) -> bool:
    """An integer: Python's or NumPy's, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(
    value,
    name: str,
    minimum: int | None = 0,
    allow_none: bool = False,
    owner: str = "",
    maximum: int | None = None,
    meaning: str = "",
):
    """``value`` as a Python int in ``[minimum, maximum]`` (NumPy integers accepted; bools and floats
    refused, with the integer to use when a float holds one). ``meaning`` is said in the error, e.g.
    'samples per gradient step'."""
    if value is None and allow_none:
        return None
    where = f"{owner}: " if owner else ""
    about = f" ({meaning})" if meaning else ""
    none = " or None" if allow_none else ""
    if minimum == 1 and maximum is None:
        wanted = "a positive integer"
    else:
        bounds = [f">= {minimum}"] if minimum is not None else []
        bounds += [f"<= {maximum}"] if maximum is not None else []
        wanted = "an integer" + (" " + " and ".join(bounds) if bounds else "")
    if not is_int(value):
        hint = ""
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            hint = f" Use {name}={int(value)}."
        raise ArgumentTypeError(
            f"{where}{name} must be {wanted}{none}{about}. Received: {name}={_shown(value)}.{hint}"
        )
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{where}{name} must be {wanted}{about}. Received: {name}={value!r}")
    return int(value)


def check_number(
    value,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_none: bool = False,
    owner: str = "",
    finite: bool = True,
    exclusive_maximum: bool = False,
    meaning: str = "",
):
    """``value`` as a Python float (ints, NumPy integers and floats accepted; bools, strings refused),
    finite unless ``finite=False``, within ``[minimum, maximum]`` (``maximum`` excluded if asked)."""
    if value is None and allow_none:
        return None
    where = f"{owner}: " if owner else ""
    about = f" ({meaning})" if meaning else ""
    if minimum is not None and maximum is not None and not exclusive_maximum:
        wanted = f"a number between {minimum} and {maximum}"
    else:
        bounds = [f">= {minimum}"] if minimum is not None else []
        bounds += [f"{'<' if exclusive_maximum else '<='} {maximum}"] if maximum is not None else []
        wanted = "a number" + (" " + " and ".join(bounds) if bounds else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise ArgumentTypeError(f"{where}{name} must be {wanted}{about}. Received: {name}={_shown(value)}.")
    number = float(value)
    outside = (
        (finite and not math.isfinite(number))
        or math.isnan(number)
        or (minimum is not None and number < minimum)
        or (maximum is not None and (number >= maximum if exclusive_maximum else number > maximum))
    )
    if outside:
        raise ValueError(f"{where}{name} must be {wanted}{about}. Received: {name}={value!r}")
    return number


def as_rows(data, name: str, owner: str) -> np.ndarray:
    """``data`` (array, list, pandas object, CPU torch tensor) as an array whose first axis is time."""
    if data is None:
        raise ValueError(f"{owner}: {name} is None; expected an array with one row per timestep.")
    if hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas DataFrame / Series
        data = data.to_numpy()
    elif hasattr(data, "detach") and hasattr(data, "cpu"):  # torch tensor
        data = data.detach().cpu().numpy()
    try:
        arr = np.asarray(data)
    except ValueError:
        raise ValueError(
            f"{owner}: {name} has rows of different lengths; every timestep needs the same number of features."
        ) from None
    if arr.ndim == 0:
        raise ValueError(
            f"{owner}: {name} is a single value ({arr.item()!r}); expected an array with one row per timestep."
        )
    return arr


@contextmanager
def mentioned(what: str):
    """Errors about arguments raised inside start with ``what`` (e.g. 'validation_data'), so that a
    message about "x" says which x it is. The exception keeps its type and attributes."""
    try:
        yield
    except (ValueError, TypeError) as error:
        if error.args and isinstance(error.args[0], str) and not error.args[0].startswith(what):
            error.args = (f"{what}: {error.args[0]}", *error.args[1:])
        raise


def warn_extreme_values(data: torch.Tensor, what: str) -> None:
    """Warn (once, suggesting scaling) about finite values that training cannot use well: magnitudes
    beyond ``EXTREME_MAGNITUDE`` (their squares overflow float32: NaN losses), or features (last axis)
    whose scales differ more than ``FEATURE_SCALE_RATIO`` times. One pass over the data, in pieces."""
    if not data.is_floating_point() or data.numel() == 0:
        return
    features = data.shape[-1] if data.dim() >= 2 else 1
    rows = data.reshape(-1, features)
    step = max(1, _CHUNK_ELEMENTS // features)
    peak = torch.zeros(features, dtype=torch.float64, device=data.device)
    for start in range(0, rows.shape[0], step):
        peak = torch.maximum(peak, rows[start : start + step].abs().amax(dim=0).double())
    peak = peak.cpu()
    largest = float(peak.max())
    fix = (
        "Scale the data before training, e.g. with sklearn's StandardScaler or MinMaxScaler fitted on the "
        "training data (and invert the scaling of the predictions); for targets spanning many orders of "
        "magnitude, np.log1p helps."
    )
    if largest > EXTREME_MAGNITUDE:
        warnings.warn(
            f"{what} holds values up to {largest:.3g} in magnitude. Values this large overflow float32 "
            f"arithmetic or lose all precision in it (a squared error of 1e20 is already beyond float32's "
            f"3.4e38), so the loss and the weights are likely to become NaN or inf. {fix}",
            UserWarning,
            stacklevel=3,
        )
        return
    used = torch.nonzero(peak > 0).flatten()
    if features > 1 and used.numel() > 1:
        big, small = int(used[peak[used].argmax()]), int(used[peak[used].argmin()])
        ratio = float(peak[big] / peak[small])
        if ratio > FEATURE_SCALE_RATIO:
            warnings.warn(
                f"The features of {what} differ in scale by a factor of {ratio:.1e}: feature {big} (last axis) "
                f"reaches {float(peak[big]):.3g} while feature {small} stays within {float(peak[small]):.3g}. "
                f"The network will hardly learn from the small features. {fix}",
                UserWarning,
                stacklevel=3,
            )
