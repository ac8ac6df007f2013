"""``pad_sequences``: a list of variable-length sequences as one rectangular array."""

from __future__ import annotations

import warnings

import numpy as np

from lstmkit.utils.checks import check_int

__all__ = ["pad_sequences"]

_SIDES = {"pre": "at the start", "post": "at the end"}


def _check_side(value, name: str, action: str) -> None:
    if not isinstance(value, str) or value not in _SIDES:
        raise ValueError(
            f"pad_sequences: {name} must be 'pre' ({action} at the start of each sequence) or 'post' "
            f"({action} at the end). Received: {name}={value!r}"
        )


def _as_dtype(dtype) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"pad_sequences: dtype={dtype!r} is not a NumPy dtype. Use e.g. 'int32' (token ids), 'float32' "
            "(feature values) or object (strings)."
        ) from None


def _check_value(value, dtype: np.dtype, dtype_arg) -> None:
    text_dtype = dtype.kind in "US"
    text_value = isinstance(value, (str, bytes))
    if text_value and dtype.kind != "O" and not text_dtype:
        raise ValueError(
            f"pad_sequences: dtype={dtype_arg!r} cannot hold the padding value {value!r} (a string). For "
            "sequences of strings pass dtype=object (any length) or a string dtype such as 'U20'."
        )
    if text_dtype and not text_value:
        # NumPy would store str(value), so sequences of words would be padded with the text '0.0'.
        raise ValueError(
            f"pad_sequences: dtype={dtype_arg!r} holds strings, but the padding value is {value!r} "
            f"({type(value).__name__}), which would be stored as the text {str(np.array(value, dtype=dtype))!r}. "
            "Pass a string value, e.g. value='' or value='<pad>'."
        )
    if dtype.kind in "biu" and isinstance(value, (float, np.floating)) and not float(value).is_integer():
        if not np.isfinite(value):
            raise ValueError(
                f"pad_sequences: dtype={dtype_arg!r} (integers) cannot hold the padding value {value!r}. Pass "
                "dtype='float32' to pad with it, or an integer value such as value=0."
            )
        warnings.warn(
            f"pad_sequences: dtype={dtype_arg!r} truncates the padding value {value!r} to {int(value)}. Pass "
            "dtype='float32' to keep it.",
            stacklevel=3,
        )


def _as_array(row, index: int) -> np.ndarray:
    try:
        return np.asarray(row)
    except ValueError:
        raise ValueError(
            f"pad_sequences: sequences[{index}] has timesteps of different shapes; every timestep of a sequence "
            "needs the same shape (e.g. the same number of features)."
        ) from None


def _cast(arr: np.ndarray, index: int, dtype: np.dtype, dtype_arg) -> np.ndarray:
    if arr.dtype.kind == "f" and dtype.kind in "biu" and arr.size:
        fractional = ~np.isfinite(arr) | (arr != np.trunc(arr))
        if fractional.any():
            example = arr[fractional].flat[0]
            warnings.warn(
                f"pad_sequences: sequences[{index}] holds non-integer values (e.g. {example}) that dtype="
                f"{dtype_arg!r} truncates. Pass dtype='float32' to keep them (for token ids, round them first).",
                stacklevel=3,
            )
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError):
        example = next(iter(arr.flat), None)
        example = example.item() if isinstance(example, np.generic) else example
        raise ValueError(
            f"pad_sequences: sequences[{index}] holds values that dtype={dtype_arg!r} cannot store (e.g. "
            f"{example!r}). For strings pass dtype=object; for feature values dtype='float32'."
        ) from None


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (and cut) sequences to one length.

    Args:
        sequences: a list (or other iterable) of ``n`` sequences, each a list or array of length ``len_i``
            whose items are scalars (token ids) or arrays of one shape ``s`` (features per timestep).
        maxlen: the output length; None means the longest sequence. Longer sequences are cut.
        dtype: the output dtype ('int32' by default: token ids; 'float32' for feature values; object for
            strings). Float values are truncated toward zero by an integer dtype (a warning says so).
        padding: 'pre' puts the padding values before each sequence, 'post' after it.
        truncating: 'pre' drops the first values of a sequence longer than ``maxlen``, 'post' the last ones.
        value: the padding value.

    Returns:
        An array of shape ``(n, maxlen) + s``.
    """
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise ValueError(
            f"pad_sequences: sequences must be a list of sequences (e.g. lists of token ids). Received a "
            f"{type(sequences).__name__}: {str(sequences)[:80]}"
        )
    if not hasattr(sequences, "__len__"):
        sequences = list(sequences)  # a generator: read it once
    _check_side(padding, "padding", "pad")
    _check_side(truncating, "truncating", "cut")
    maxlen = check_int(maxlen, "maxlen", 0, allow_none=True, owner="pad_sequences")
    np_dtype = _as_dtype(dtype)
    _check_value(value, np_dtype, dtype)

    lengths, sample_shape, first = [], None, None
    for index, row in enumerate(sequences):
        if isinstance(row, (str, bytes)):
            raise TypeError(
                f"pad_sequences: sequences[{index}] is a string ({row[:40]!r}); each sequence must be a list of "
                "tokens. Split or tokenize the text first, e.g. text.split() or a tokenizer's word ids."
            )
        try:
            lengths.append(len(row))
        except TypeError:
            hint = (
                " If you have a single sequence, wrap it in a list: pad_sequences([seq])."
                if index == 0
                else ""
            )
            raise ValueError(
                f"pad_sequences: sequences must be a list of sequences, but sequences[{index}] is "
                f"{str(row)[:40]} ({type(row).__name__}), which has no length.{hint}"
            ) from None
        if sample_shape is None and len(row):
            sample_shape, first = _as_array(row, index).shape[1:], index
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)

    try:
        out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=np_dtype)
    except (TypeError, ValueError):
        raise ValueError(
            f"pad_sequences: the padding value {value!r} cannot be stored with dtype={dtype!r}."
        ) from None
    for index, row in enumerate(sequences):
        keep = min(lengths[index], maxlen)
        if keep == 0:
            continue
        part = _cast(_as_array(_cut(row, keep, truncating), index), index, np_dtype, dtype)
        if part.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: sequences[{index}] has timesteps of shape {part.shape[1:]}, but sequences[{first}] "
                f"(the first non-empty one) has {sample_shape}; every timestep needs the same shape."
            )
        if padding == "pre":
            out[index, maxlen - keep :] = part
        else:
            out[index, :keep] = part
    return out


def _cut(row, keep: int, truncating: str):
    # Slices of the original row (list, array, tensor) keep truncation cheap on long sequences.
    return row[len(row) - keep :] if truncating == "pre" else row[:keep]
