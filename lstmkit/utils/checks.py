"""Argument checks shared by lstmkit: integers and numbers (NumPy scalars accepted wherever Python's
are), and arrays one row per timestep.

Use these instead of writing ``isinstance(value, bool) or not isinstance(value, int)`` again: real code
passes ``np.int64`` (from ``np.argmax``, pandas, arithmetic on NumPy values) and ``np.float32``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["ArgumentTypeError", "as_rows", "check_int", "check_number", "is_int"]


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
        raise ValueError(f"{where}{name} must be {wanted}{none}{about}. Received: {name}={value!r}")
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
