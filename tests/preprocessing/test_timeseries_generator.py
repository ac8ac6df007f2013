"""TimeseriesGenerator: Keras 2 index semantics on small hand-worked cases, and its errors.

Sample j of the generator ends just before row r_j and predicts targets[r_j]:
window = data[r_j - length : r_j : sampling_rate], rows r = start_index + length, + stride, ... <= end_index.
"""

import numpy as np
import pytest

import lstmkit.preprocessing
from lstmkit.preprocessing.sequence import TimeseriesGenerator
from lstmkit.utils import PyDataset, Sequence, timeseries_dataset_from_array


def test_keras2_documented_example():
    # The example of the Keras 2 TimeseriesGenerator docstring: 50 steps, length 10, every 2nd step.
    data = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    assert len(gen) == 20
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])
    x, y = gen[19]  # rows 48 and 49
    np.testing.assert_array_equal(x, [[[38], [40], [42], [44], [46]], [[39], [41], [43], [45], [47]]])
    np.testing.assert_array_equal(y, [[48], [49]])
    assert isinstance(gen, Sequence) and isinstance(gen, PyDataset)


def test_start_end_stride_and_short_last_batch():
    data = np.arange(10)
    targets = np.arange(10) * 10
    # start_index=1, length=3: first target row 4; rows 4, 6, 8 (end_index=8 inclusive); batches of 2.
    gen = TimeseriesGenerator(data, targets, length=3, stride=2, start_index=1, end_index=8, batch_size=2)
    assert len(gen) == 2  # (8 - 4 + 2*2) // (2*2)
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[1, 2, 3], [3, 4, 5]])
    np.testing.assert_array_equal(y, [40, 60])
    x, y = gen[1]
    np.testing.assert_array_equal(x, [[5, 6, 7]])
    np.testing.assert_array_equal(y, [80])
    x, y = gen[-1]  # negative indices count from the end
    np.testing.assert_array_equal(y, [80])


def test_sampling_rate_that_does_not_divide_length():
    # data[r-5:r:2] holds 3 steps: ceil(5 / 2).
    gen = TimeseriesGenerator(np.arange(8), np.arange(8), length=5, sampling_rate=2, batch_size=10)
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[0, 2, 4], [1, 3, 5], [2, 4, 6]])
    np.testing.assert_array_equal(y, [5, 6, 7])


def test_reverse_and_features():
    data = np.arange(12).reshape(6, 2)
    gen = TimeseriesGenerator(data, data[:, 0], length=2, reverse=True, batch_size=3)
    assert len(gen) == 2
    x, y = gen[0]
    assert x.shape == (3, 2, 2)
    np.testing.assert_array_equal(x, [[[2, 3], [0, 1]], [[4, 5], [2, 3]], [[6, 7], [4, 5]]])
    np.testing.assert_array_equal(y, [4, 6, 8])
    assert x.flags.c_contiguous


def test_len_formula():
    for n, length, stride, batch in [(20, 3, 1, 4), (21, 5, 3, 2), (9, 8, 1, 1), (30, 1, 4, 3)]:
        gen = TimeseriesGenerator(np.arange(n), np.arange(n), length=length, stride=stride, batch_size=batch)
        rows = list(range(length, n, stride))
        assert len(gen) == -(-len(rows) // batch)
        got = np.concatenate([gen[i][1] for i in range(len(gen))])
        np.testing.assert_array_equal(got, rows)


def test_shuffle_draws_rows_from_numpys_global_generator():
    np.random.seed(3)
    gen = TimeseriesGenerator(np.arange(40), np.arange(40) * 10, length=5, batch_size=4, shuffle=True)
    x, y = gen[0]
    np.random.seed(3)
    rows = np.random.randint(5, 40, size=4)  # Keras 2: rows drawn with replacement from start..end
    np.testing.assert_array_equal(y, rows * 10)
    np.testing.assert_array_equal(x, rows[:, None] + np.arange(-5, 0))
    assert len(gen) == 9  # (39 - 5 + 4) // 4


def test_matches_timeseries_dataset_with_shifted_targets():
    # Keras 3's replacement: targets=data[L:] (windows stop where the targets do) gives the same batches.
    data = np.arange(30).reshape(15, 2)
    gen = TimeseriesGenerator(data, data, length=4, batch_size=3)
    ds = timeseries_dataset_from_array(data, data[4:], sequence_length=4, batch_size=3)
    assert len(gen) == len(ds) == 4
    for (gx, gy), (dx, dy) in zip(gen, ds):
        np.testing.assert_array_equal(gx, dx)
        np.testing.assert_array_equal(gy, dy)


def test_accepts_lists_and_dataframes():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=[10, 11, 12, 13])
    x, y = TimeseriesGenerator(frame, frame["a"], length=2)[0]
    np.testing.assert_array_equal(x, [[[1.0], [2.0]], [[2.0], [3.0]]])
    np.testing.assert_array_equal(y, [3.0, 4.0])
    x, y = TimeseriesGenerator([1, 2, 3], [4, 5, 6], length=2)[0]
    np.testing.assert_array_equal(x, [[1, 2]])
    np.testing.assert_array_equal(y, [6])


def test_workers_keywords_are_stored():
    gen = TimeseriesGenerator(
        np.arange(5), np.arange(5), length=1, workers=4, use_multiprocessing=True, max_queue_size=3
    )
    assert (gen.workers, gen.use_multiprocessing, gen.max_queue_size) == (4, True, 3)
    assert lstmkit.preprocessing.sequence.TimeseriesGenerator is TimeseriesGenerator


def test_too_short_says_how_many_rows():
    with pytest.raises(ValueError) as info:
        TimeseriesGenerator(np.arange(5), np.arange(5), length=5)
    assert (
        "data is too short for even one sample. A window of length=5 starting at start_index=0 needs at least "
        "start_index + length + 1 = 6 rows (the window plus the row whose target it predicts), but data has 5."
    ) in str(info.value)
    with pytest.raises(ValueError, match=r"needs at least start_index \+ length \+ 1 = 9 rows"):
        TimeseriesGenerator(np.arange(8), np.arange(8), length=5, start_index=3)


def test_end_index_errors():
    with pytest.raises(ValueError) as info:
        TimeseriesGenerator(np.arange(10), np.arange(10), length=3, start_index=2, end_index=4)
    assert (
        "no sample fits between start_index=2 and end_index=4: the first sample predicts row start_index + "
        "length = 5, which is after end_index. Use end_index >= 5"
    ) in str(info.value)
    with pytest.raises(
        ValueError,
        match=r"end_index=10 is past the last row of data \(data has 10 rows, so "
        r"end_index can be at most 9; end_index is inclusive\)",
    ):
        TimeseriesGenerator(np.arange(10), np.arange(10), length=3, end_index=10)


def test_argument_errors():
    data = np.arange(10)
    with pytest.raises(
        ValueError,
        match=r"data and targets need the same length .* Data length is 10 while "
        r"target length is 9",
    ):
        TimeseriesGenerator(data, data[:9], length=2)
    with pytest.raises(ValueError, match=r"targets is None.*pass targets=data"):
        TimeseriesGenerator(data, None, length=2)
    with pytest.raises(
        ValueError, match=r"TimeseriesGenerator: length must be a positive integer. Received: length=0"
    ):
        TimeseriesGenerator(data, data, length=0)
    with pytest.raises(
        TypeError,
        match=r"batch_size must be a positive integer\. Received: batch_size=2\.0 .*"
        r"Use batch_size=2\.",
    ):
        TimeseriesGenerator(data, data, length=2, batch_size=2.0)
    with pytest.raises(ValueError, match=r"sampling_rate must be a positive integer"):
        TimeseriesGenerator(data, data, length=2, sampling_rate=0)


def test_index_errors():
    gen = TimeseriesGenerator(np.arange(10), np.arange(10), length=2, batch_size=4)
    with pytest.raises(IndexError, match=r"TimeseriesGenerator has 2 batches \(0\.\.1\); received index 2\."):
        gen[2]
    with pytest.raises(TypeError, match=r"batch numbers \(integers\); received 0\.5"):
        gen[0.5]
