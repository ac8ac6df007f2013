"""Argument checks shared by the data utilities: integers, and arrays one row per timestep."""

from __future__ import annotations

import numpy as np

__all__ = ["as_rows", "check_int"]


def check_int(value, name: str, minimum: int = 0, allow_none: bool = False, owner: str = ""):
    """``value`` as a Python int ``>= minimum`` (NumPy integers accepted; bools and floats refused)."""
    if value is None and allow_none:
        return None
    where = f"{owner}: " if owner else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            hint = f" Use {name}={int(value)}."
        else:
            hint = ""
        raise TypeError(
            f"{where}{name} must be an integer{' or None' if allow_none else ''}. "
            f"Received: {name}={value!r} (type {type(value).__name__}).{hint}"
        )
    if value < minimum:
        raise ValueError(f"{where}{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


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
