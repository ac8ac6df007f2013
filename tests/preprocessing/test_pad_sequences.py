"""pad_sequences against hand-written expected arrays (Keras semantics) and its error messages."""

import warnings

import numpy as np
import pytest
import torch

import lstmkit.utils
from lstmkit.preprocessing.sequence import pad_sequences

SEQS = [[1, 2, 3], [4, 5], []]


def check(result, expected, dtype="int32"):
    np.testing.assert_array_equal(result, np.array(expected, dtype=dtype))
    assert result.dtype == np.dtype(dtype)


def test_same_function_at_both_paths():
    assert lstmkit.utils.pad_sequences is pad_sequences


def test_defaults_pad_before_to_longest():
    check(pad_sequences(SEQS), [[1, 2, 3], [0, 4, 5], [0, 0, 0]])


@pytest.mark.parametrize(
    "padding, truncating, expected",
    [
        ("pre", "pre", [[0, 0, 0, 0], [0, 0, 0, 7], [3, 4, 5, 6]]),
        ("post", "pre", [[0, 0, 0, 0], [7, 0, 0, 0], [3, 4, 5, 6]]),
        ("pre", "post", [[0, 0, 0, 0], [0, 0, 0, 7], [1, 2, 3, 4]]),
        ("post", "post", [[0, 0, 0, 0], [7, 0, 0, 0], [1, 2, 3, 4]]),
    ],
)
def test_padding_and_truncating_sides(padding, truncating, expected):
    seqs = [[], [7], [1, 2, 3, 4, 5, 6]]
    check(pad_sequences(seqs, maxlen=4, padding=padding, truncating=truncating), expected)


def test_value_and_float_dtype():
    check(
        pad_sequences([[1.5, 2.5], [3.25]], maxlen=3, dtype="float32", value=-1.0),
        [[-1.0, 1.5, 2.5], [-1.0, -1.0, 3.25]],
        dtype="float32",
    )


def test_timesteps_with_features():
    out = pad_sequences([[[1, 2], [3, 4]], [[5, 6]]], maxlen=3)
    check(out, [[[0, 0], [1, 2], [3, 4]], [[0, 0], [0, 0], [5, 6]]])


def test_strings_with_object_dtype():
    out = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]
    out = pad_sequences([["a", "b"], ["c"]], dtype="U5", value="", padding="post")
    assert out.tolist() == [["a", "b"], ["c", ""]]


def test_containers_arrays_tensors_generators():
    check(pad_sequences(np.array([[1, 2, 3], [4, 5, 6]]), maxlen=2), [[2, 3], [5, 6]])
    check(pad_sequences([torch.tensor([1, 2]), np.array([3])]), [[1, 2], [0, 3]])
    check(pad_sequences(s for s in [[1], [2, 3]]), [[0, 1], [2, 3]])
    check(pad_sequences(((1, 2), (3,)), padding="post"), [[1, 2], [3, 0]])


def test_edge_lengths():
    assert pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    check(pad_sequences([[], []]), np.zeros((2, 0)))


def test_float_values_into_int_dtype_truncate_with_a_warning():
    with pytest.warns(
        UserWarning, match=r"sequences\[0\] holds non-integer values \(e\.g\. 1\.7\).*dtype='float32'"
    ):
        out = pad_sequences([[1.7, -2.7]], maxlen=3)
    check(out, [[0, 1, -2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whole floats are token ids stored as floats: no warning
        check(pad_sequences([[1.0, 2.0]]), [[1, 2]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"padding": "middle"},
            (
                "padding must be 'pre' (pad at the start of each sequence) or 'post' (pad at the end). "
                "Received: padding='middle'"
            ),
        ),
        (
            {"truncating": "end"},
            (
                "truncating must be 'pre' (cut at the start of each sequence) or 'post' (cut at the "
                "end). Received: truncating='end'"
            ),
        ),
        ({"maxlen": -1}, "maxlen must be an integer >= 0. Received: maxlen=-1"),
        (
            {"value": "x"},
            (
                "dtype='int32' cannot hold the padding value 'x' (a string). For sequences of strings pass "
                "dtype=object"
            ),
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as info:
        pad_sequences([[1, 2]], **kwargs)
    assert message in str(info.value)


def test_bad_types():
    with pytest.raises(TypeError, match=r"maxlen must be an integer >= 0 or None. Received: maxlen=2.5"):
        pad_sequences([[1]], maxlen=2.5)
    with pytest.raises(TypeError, match=r"Use maxlen=3\."):
        pad_sequences([[1]], maxlen=3.0)
    with pytest.raises(TypeError, match=r"dtype='nope' is not a NumPy dtype"):
        pad_sequences([[1]], dtype="nope")
    with pytest.raises(
        ValueError,
        match=r"dtype='int32' \(integers\) cannot hold the padding value nan\. Pass "
        r"dtype='float32'",
    ):
        pad_sequences([[1]], maxlen=2, value=float("nan"))
    with pytest.warns(UserWarning, match=r"dtype='int32' truncates the padding value -1\.5 to -1"):
        check(pad_sequences([[1]], maxlen=2, value=-1.5), [[-1, 1]])
    with pytest.raises(ValueError, match=r"the padding value None cannot be stored with dtype='int32'"):
        pad_sequences([[1]], maxlen=2, value=None)


def test_string_dtype_needs_string_value():
    with pytest.raises(ValueError) as info:
        pad_sequences([["a"]], dtype="U3", maxlen=2)
    assert (
        "dtype='U3' holds strings, but the padding value is 0.0 (float), which would be stored as the text "
        "'0.0'. Pass a string value, e.g. value=''" in str(info.value)
    )


def test_not_a_list_of_sequences():
    with pytest.raises(
        ValueError,
        match=r"sequences must be a list of sequences \(e\.g\. lists of token ids\)\. "
        r"Received a int: 5",
    ):
        pad_sequences(5)
    with pytest.raises(ValueError) as info:
        pad_sequences([[1, 2], 3])
    assert "sequences[1] is 3 (int), which has no length." in str(info.value)
    with pytest.raises(ValueError, match=r"wrap it in a list: pad_sequences\(\[seq\]\)"):
        pad_sequences([1, 2, 3])
    with pytest.raises(TypeError, match=r"sequences\[1\] is a string \('hello world'\).*text\.split\(\)"):
        pad_sequences([["a"], "hello world"], dtype=object, value="")


def test_inconsistent_timesteps():
    with pytest.raises(ValueError) as info:
        pad_sequences([[[1, 2], [3, 4]], [[5, 6, 7]]])
    assert (
        "sequences[1] has timesteps of shape (3,), but sequences[0] (the first non-empty one) has (2,); "
        "every timestep needs the same shape."
    ) in str(info.value)
    with pytest.raises(ValueError, match=r"sequences\[0\] has timesteps of different shapes"):
        pad_sequences([[[1, 2], [3]]])


def test_values_the_dtype_cannot_store():
    with pytest.raises(
        ValueError,
        match=r"sequences\[0\] holds values that dtype='int32' cannot store \(e\.g\. "
        r"'a'\)\. For strings pass dtype=object",
    ):
        pad_sequences([["a", "b"]])
