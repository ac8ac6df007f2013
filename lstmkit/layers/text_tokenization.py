"""Strings -> tokens, by Keras 3's ``TextVectorization`` rules (checked against Keras 3.15.1): standardize,
split, n-grams. Pure functions of the strings; the vocabulary and the output modes are the layer's
(lstmkit/layers/text_vectorization.py).

- ``'lower'`` lower-cases ASCII letters only (TensorFlow's ``strings.lower``); ``'strip_punctuation'`` removes
  ASCII punctuation ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``; ``'whitespace'`` splits on ASCII whitespace
  (space, tab, newline, CR, FF, VT); ``'character'`` splits into Unicode characters.
- ``ngrams``: the tokens' n-grams of each width, joined by a space, all of width 1 first, then 2, ...
"""

from __future__ import annotations

import re
import string

import numpy as np
import torch

__all__ = ["SPLIT", "STANDARDIZE", "decode", "option", "tokenize"]

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
_PUNCTUATION = re.compile(r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']""")
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def option(value, what: str, options: tuple, custom_objects=None):
    """A built-in option name, None, or a callable (a serialized function is looked up in custom_objects)."""
    if value is None or callable(value):
        return value
    if isinstance(value, dict):  # a serialized function (Keras 3 form, or lstmkit's)
        name = value.get("config") if isinstance(value.get("config"), str) else value.get("registered_name")
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        raise ValueError(
            f"TextVectorization: {what} is your own function {name!r}. Pass it when loading: "
            f"custom_objects={{{name!r}: {name}}}."
        )
    if isinstance(value, str) and value in options:
        return value
    choices = ", ".join(repr(o) for o in options)
    raise ValueError(
        f"TextVectorization: {what} must be one of {choices}, None, or a callable. Received: {what}={value!r}"
    )


def decode(value, encoding: str) -> str:
    return value.decode(encoding) if isinstance(value, bytes) else str(value)


def _decoded(array: np.ndarray, encoding: str) -> np.ndarray:
    """An object array of str and bytes as one of str."""
    return np.vectorize(lambda v: decode(v, encoding), otypes=[object])(array) if array.size else array


def _strings(result, encoding: str) -> np.ndarray:
    """What a user's standardize function returned (NumPy, a TensorFlow tensor, a list) as an array of str."""
    if hasattr(result, "numpy"):
        result = result.numpy()
    return _decoded(np.asarray(result, dtype=object), encoding)


def _as_array(inputs, encoding: str) -> np.ndarray:
    """The layer's input (a list, a NumPy array, a TensorFlow tensor of strings, or one string) as an object
    array of str; a clear error for anything that is not strings."""
    if isinstance(inputs, torch.Tensor):
        raise TypeError(
            "TextVectorization takes strings (a list, a NumPy array of str, or one string); received a torch "
            f"tensor of dtype {inputs.dtype}."
        )
    if hasattr(inputs, "numpy") and not isinstance(inputs, np.ndarray):  # a TensorFlow tensor of strings
        inputs = inputs.numpy()
    array = np.asarray(inputs, dtype=object)
    if array.size and not all(isinstance(v, (str, bytes)) for v in array.ravel()):
        bad = next(v for v in array.ravel() if not isinstance(v, (str, bytes)))
        raise TypeError(
            f"TextVectorization takes strings; received an element of type {type(bad).__name__}: {bad!r}."
        )
    return _decoded(array, encoding)


def _standardized(array: np.ndarray, standardize, encoding: str) -> np.ndarray:
    if standardize is None:
        return array
    if callable(standardize):
        return _strings(standardize(array.astype(str)), encoding)
    lower = standardize in ("lower", "lower_and_strip_punctuation")
    strip = standardize in ("strip_punctuation", "lower_and_strip_punctuation")

    def one(text):
        if lower:
            text = text.translate(_ASCII_LOWER)
        return _PUNCTUATION.sub("", text) if strip else text

    return np.vectorize(one, otypes=[object])(array) if array.size else array


def tokenize(inputs, standardize, split, encoding: str, ngram_widths=()) -> tuple[list[list[str]], tuple]:
    """(one token list per document, the shape of the documents' array). ``standardize`` and ``split`` are an
    option of ``STANDARDIZE`` / ``SPLIT``, None or a callable; ``ngram_widths`` e.g. (1, 2) for ``ngrams=2``.
    With ``split=None`` each string is one document of one token and the shape is the input's; otherwise the
    input must be ``(batch,)`` or ``(batch, 1)`` and the shape is ``(batch,)``."""
    array = _standardized(_as_array(inputs, encoding), standardize, encoding)
    if split is None:
        shape = array.shape
        documents = [[text] for text in array.ravel()]
    else:
        if array.ndim > 1:
            if array.shape[-1] != 1:
                raise ValueError(
                    "TextVectorization: to split strings, the input must be 1-D (batch,) or (batch, 1). Received "
                    f"shape {array.shape}."
                )
            array = array[..., 0]
        shape = array.shape
        flat = list(array.ravel())
        if callable(split):
            result = split(np.asarray(flat, dtype=str))
            result = result.to_list() if hasattr(result, "to_list") else result
            documents = [[decode(t, encoding) for t in tokens] for tokens in result]
        elif split == "whitespace":
            documents = [[t for t in _WHITESPACE.split(text) if t] for text in flat]
        else:
            documents = [list(text) for text in flat]
    if ngram_widths:
        documents = [
            [" ".join(tokens[i : i + w]) for w in ngram_widths for i in range(len(tokens) - w + 1)]
            for tokens in documents
        ]
    return documents, shape
