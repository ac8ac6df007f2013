"""Turning user data into tensors, and refusing bad data with errors that say how to fix it.

Accepted containers: NumPy arrays, nested lists/tuples, pandas DataFrames/Series, torch tensors.
Every check here runs once per ``fit``/``evaluate``/``predict`` call, before any training step.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit import backend
from lstmkit.utils.shapes import format_shape

__all__ = ["DataShapeError", "align_targets", "check_model_input", "check_same_length", "to_tensor"]

_CHUNK_ELEMENTS = 1 << 20  # finite-checks walk big arrays in pieces of this many values (bounded memory)


class DataShapeError(ValueError):
    """Data whose shape does not fit the model."""


def _name(what: str) -> str:
    return what.split(" ")[0]


def _to_numpy(data, what: str) -> np.ndarray:
    if hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas DataFrame / Series
        arr = data.to_numpy()
        if arr.dtype.kind == "O":  # mixed or nullable columns: numeric if every value converts
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                dtypes = data.dtypes.items() if hasattr(data.dtypes, "items") else [(data.name, data.dtypes)]
                bad = [
                    f"{col!r} ({dtype})" for col, dtype in dtypes if getattr(dtype, "kind", "O") not in "biuf"
                ]
                raise TypeError(
                    f"{what} is a pandas object with non-numeric column(s) {', '.join(bad)}. Convert them first, "
                    "e.g. df = df.apply(pd.to_numeric, errors='coerce').dropna(), or drop those columns."
                ) from None
        return arr
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (list, tuple)):
        try:
            return np.asarray(data)
        except ValueError:
            lengths = sorted({len(row) for row in data if hasattr(row, "__len__")})
            raise ValueError(
                f"{what} is a list of sequences of different lengths ({', '.join(map(str, lengths[:5]))}"
                f"{', ...' if len(lengths) > 5 else ''}); an array needs them equal. Pad them to one length, e.g. "
                f"lstmkit.preprocessing.sequence.pad_sequences({_name(what)}, maxlen={lengths[-1]}, padding='pre')."
            ) from None
    if np.isscalar(data):
        raise ValueError(f"{what} is a single number ({data!r}); expected an array with one row per sample.")
    if data is None:
        raise ValueError(f"{what} is None; expected an array with one row per sample.")
    try:
        return np.asarray(data)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} has type {type(data).__name__}, which lstmkit cannot read. Pass a NumPy array, a list, "
            "a pandas DataFrame/Series or a torch tensor."
        ) from None


def _check_numeric(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind in "biuf":
        return
    example = ""
    if arr.size:
        flat = arr.reshape(-1)
        for i, value in enumerate(flat[:10000]):
            if not isinstance(value, (int, float, np.number, bool)):
                index = tuple(int(v) for v in np.unravel_index(i, arr.shape))
                example = f" (e.g. {value!r} at index {index})"
                break
    kind = {
        "U": "strings",
        "S": "bytes",
        "O": "Python objects",
        "M": "dates",
        "m": "time deltas",
        "c": "complex numbers",
    }.get(arr.dtype.kind, str(arr.dtype))
    raise TypeError(
        f"{what} has dtype {arr.dtype} ({kind}){example}, but the model needs numbers. Convert it first, e.g. "
        f"{_name(what)} = np.asarray({_name(what)}, dtype='float32'), or pd.to_numeric for DataFrame columns; "
        "encode text as integer ids (and use an Embedding layer) or one-hot columns."
    )


def _check_finite(t: torch.Tensor, what: str) -> None:
    if not (t.is_floating_point() or t.is_complex()):
        return
    flat = t.reshape(-1)
    bad_count, first = 0, None
    for start in range(0, flat.numel(), _CHUNK_ELEMENTS):
        piece = flat[start : start + _CHUNK_ELEMENTS]
        if bool(torch.isfinite(piece).all()):  # the common case, without an int64 count of the piece
            continue
        chunk = ~torch.isfinite(piece)
        n = int(chunk.sum())
        if n:
            if first is None:
                first = start + int(chunk.nonzero()[0, 0])
            bad_count += n
    if bad_count:
        index = tuple(int(v) for v in np.unravel_index(first, tuple(t.shape)))
        value = float(flat[first])
        raise ValueError(
            f"{what} contains {bad_count} NaN or infinite value(s); the first is {value} at index {index}. "
            "The model would compute NaN from them. Remove or fill them first: a series framed with "
            "DataFrame.shift() has NaN in its first row(s) (drop them with df.dropna()), or use "
            f"np.nan_to_num({_name(what)})."
        )


def to_tensor(data, what: str, integer: bool = False, keep_float_dtype: bool = False) -> torch.Tensor:
    """``data`` as a validated tensor: the float dtype of the model (or int64 if ``integer``).

    NumPy float32 input is shared, not copied; with ``keep_float_dtype`` other float dtypes are not
    converted either (the caller converts batch by batch). Raises TypeError/ValueError naming ``what``.
    """
    if isinstance(data, torch.Tensor):
        tensor = data.detach()
        if tensor.dtype.is_complex:
            raise TypeError(f"{what} holds complex numbers; the model needs real numbers.")
    else:
        arr = _to_numpy(data, what)
        _check_numeric(arr, what)
        if arr.dtype == bool:
            arr = arr.astype(np.float32)
        if not arr.flags.writeable or not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr).copy()
        tensor = torch.from_numpy(arr)
    if tensor.dim() == 0:
        raise ValueError(f"{what} is a single number; expected an array with one row per sample.")
    if tensor.shape[0] == 0 or tensor.numel() == 0:
        raise ValueError(
            f"{what} is empty (shape {format_shape(tensor.shape)}); at least one sample with at least one value is needed."
        )
    _check_finite(tensor, what)
    if integer:
        if tensor.is_floating_point() and not bool(torch.all(tensor == torch.round(tensor))):
            raise ValueError(
                f"{what} must hold integer ids (it feeds an Embedding); it has fractional values."
            )
        return tensor.to(torch.int64)
    if keep_float_dtype and tensor.is_floating_point():
        return tensor
    return tensor.to(backend.float_dtype())


def check_same_length(x, y=None, sample_weight=None) -> None:
    """Every array has one row per sample: x (a tensor or a list per input), y (a tensor, or a list per
    output with None for outputs without targets), sample_weight (likewise)."""
    xs = x if isinstance(x, list) else [x]
    n = xs[0].shape[0]
    for i, t in enumerate(xs[1:], start=1):
        if t.shape[0] != n:
            raise ValueError(
                f"The model's inputs have different numbers of samples: x[0] has {n}, x[{i}] has {t.shape[0]} "
                f"(shape {format_shape(t.shape)}). Every input needs one row per sample."
            )
    ys = y if isinstance(y, list) else [y]
    for i, t in enumerate(ys):
        if t is not None and t.shape[0] != n:
            which = "y" if len(ys) == 1 else f"y[{i}]"
            raise ValueError(
                f"x and {which} have different numbers of samples: x has {n} (shape {format_shape(xs[0].shape)}), "
                f"{which} has {t.shape[0]} (shape {format_shape(t.shape)}). Each sample in x needs one target in "
                f"{which}; if you built them by shifting a series, drop the same rows from both (e.g. X, y = X[:-1], "
                "y[:-1])."
            )
    weights = sample_weight if isinstance(sample_weight, list) else [sample_weight]
    for t in weights:
        if t is not None and t.shape[0] != n:
            raise ValueError(
                f"sample_weight has {t.shape[0]} entries but x has {n} samples; give one weight per sample."
            )


def _reshape_advice(shape: tuple, expected: tuple, layer_desc: str) -> str:
    """The 2-D into a recurrent layer case: both readings of a row, with the concrete reshape calls."""
    n, cols = shape
    lines = [
        (
            f"{layer_desc} expects 3-D input (samples, timesteps, features), but x is 2-D with shape "
            f"{format_shape(shape)}. Reshape it first; which reshape depends on what a row holds:"
        ),
        f"  - {cols} timesteps of 1 feature each:  X = X.reshape(({n}, {cols}, 1))  with input_shape=({cols}, 1)",
        f"  - 1 timestep of {cols} features:        X = X.reshape(({n}, 1, {cols}))  with input_shape=(1, {cols})",
    ]
    if len(expected) == 3 and expected[1] is not None and expected[2] is not None:
        t, f = expected[1], expected[2]
        if t * f == cols:
            lines.append(
                f"The model was declared with input_shape=({t}, {f}), so use X = X.reshape(({n}, {t}, {f}))."
            )
    return "\n".join(lines)


def check_model_input(
    x_shape: tuple, expected: tuple | None, expected_ndim: int | None, layer_desc: str
) -> None:
    """Refuse ``x`` whose shape the model cannot take, saying what it expected and how to reshape.

    ``expected``: the model's declared input shape (batch axis first) or None; ``expected_ndim``: the
    rank its first layer needs; ``layer_desc``: e.g. "Layer 'lstm' (LSTM)".
    """
    x_shape = tuple(x_shape)
    ndim = expected_ndim if expected_ndim is not None else (len(expected) if expected else None)
    if ndim is not None and len(x_shape) != ndim:
        if ndim == 3 and len(x_shape) == 2:
            raise DataShapeError(_reshape_advice(x_shape, expected or (), layer_desc))
        if ndim == 3 and len(x_shape) == 1:
            n = x_shape[0]
            raise DataShapeError(
                f"{layer_desc} expects 3-D input (samples, timesteps, features), but x is 1-D with shape "
                f"{format_shape(x_shape)}. For one value per sample use X = X.reshape(({n}, 1, 1)); to cut a "
                "series into windows of several timesteps see lstmkit.utils.make_windows."
            )
        if ndim == 2 and len(x_shape) == 1:
            raise DataShapeError(
                f"{layer_desc} expects 2-D input (samples, features), but x is 1-D with shape {format_shape(x_shape)}. "
                f"Use X = X.reshape(({x_shape[0]}, 1)) for one feature per sample."
            )
        raise DataShapeError(
            f"{layer_desc} expects {ndim}-D input, but x has shape {format_shape(x_shape)} ({len(x_shape)}-D)."
        )
    if expected is None:
        return
    mismatched = [
        axis
        for axis in range(1, len(expected))
        if expected[axis] is not None and expected[axis] != x_shape[axis]
    ]
    if mismatched:
        per_sample = tuple(expected[1:])
        hint = ""
        if all(d is not None for d in per_sample) and np.prod(per_sample) == np.prod(x_shape[1:]):
            hint = f" The sizes agree, so maybe X = X.reshape(({x_shape[0]}, {', '.join(map(str, per_sample))}))."
        raise DataShapeError(
            f"The model expects input of shape {format_shape(expected)} but x has shape {format_shape(x_shape)} "
            f"(axis {mismatched[0]} is {x_shape[mismatched[0]]}, expected {expected[mismatched[0]]}). Either "
            f"reshape x, or declare input_shape={format_shape(x_shape[1:])} on the first layer.{hint}"
        )


def align_targets(y: torch.Tensor, output_shape: tuple) -> torch.Tensor:
    """Give ``y`` the rank of the model output where that is unambiguous: (n,) against (None, 1) becomes
    (n, 1), and (n, k, 1) against (None, k) becomes (n, k). Anything else is left for the shape check."""
    out = tuple(output_shape[1:])

    def agrees(shape):
        return len(shape) == len(out) and all(o is None or o == s for s, o in zip(shape, out))

    if y.dim() == len(output_shape) - 1 and output_shape[-1] == 1 and agrees(tuple(y.shape[1:]) + (1,)):
        return y.unsqueeze(-1)
    if y.dim() == len(output_shape) + 1 and y.shape[-1] == 1 and agrees(tuple(y.shape[1:-1])):
        return y.squeeze(-1)
    return y
