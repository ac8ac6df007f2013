"""timeseries_dataset_from_array: Keras 3's documented examples and hand-worked windows, shuffling, errors."""

import numpy as np
import pytest

import lstmkit.preprocessing
from lstmkit.utils import PyDataset, timeseries_dataset_from_array


def batches(ds):
    return [tuple(part.tolist() for part in b) if isinstance(b, tuple) else b.tolist() for b in ds]


def test_keras_docstring_example_sampling_rate_and_stride():
    # Keras 3 docs: steps 0..99 (every window 10 steps, every 2nd step, a window every 10 steps).
    ds = timeseries_dataset_from_array(
        np.arange(100), None, sequence_length=10, sampling_rate=2, sequence_stride=10
    )
    x = np.concatenate(list(ds))
    assert x.shape == (9, 10)
    np.testing.assert_array_equal(x[0], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    np.testing.assert_array_equal(x[1], [10, 12, 14, 16, 18, 20, 22, 24, 26, 28])
    np.testing.assert_array_equal(x[-1], [80, 82, 84, 86, 88, 90, 92, 94, 96, 98])


def test_keras_docstring_example_next_step_regression():
    data = np.arange(40)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=8)
    x, y = ds[0]
    np.testing.assert_array_equal(x[0], np.arange(10))
    assert y[0] == 10
    assert [len(b[1]) for b in ds] == [8, 8, 5]  # 30 rows give 21 windows


def test_hand_worked_start_end_stride():
    data = np.arange(20).reshape(10, 2)
    targets = np.arange(10) * 10
    # data[2:9]: windows of 3 rows start at 2, 4, 6 (stride 2); a window at 8 would pass end_index.
    ds = timeseries_dataset_from_array(
        data, targets, sequence_length=3, sequence_stride=2, batch_size=2, start_index=2, end_index=9
    )
    assert isinstance(ds, PyDataset) and len(ds) == 2 and ds.num_windows == 3
    assert batches(ds) == [
        ([[[4, 5], [6, 7], [8, 9]], [[8, 9], [10, 11], [12, 13]]], [20, 40]),
        ([[[12, 13], [14, 15], [16, 17]]], [60]),
    ]


def test_sampling_rate_window_span():
    # sequence_length=3, sampling_rate=2: a window spans 5 rows; 7 rows give 3 windows.
    ds = timeseries_dataset_from_array(np.arange(7), np.arange(7) * 10, sequence_length=3, sampling_rate=2)
    assert batches(ds) == [([[0, 2, 4], [1, 3, 5], [2, 4, 6]], [0, 10, 20])]


def test_targets_shorter_than_data_limit_the_windows():
    ds = timeseries_dataset_from_array(np.arange(20), np.arange(12) * 10, sequence_length=5, batch_size=4)
    assert len(ds) == 3
    x, y = ds[2]
    np.testing.assert_array_equal(
        x, [[8, 9, 10, 11, 12], [9, 10, 11, 12, 13], [10, 11, 12, 13, 14], [11, 12, 13, 14, 15]]
    )
    np.testing.assert_array_equal(y, [80, 90, 100, 110])


def test_unbatched_and_no_targets():
    ds = timeseries_dataset_from_array(np.arange(5), np.arange(5) * 10, sequence_length=4, batch_size=None)
    assert len(ds) == 2
    assert batches(ds) == [([0, 1, 2, 3], 0), ([1, 2, 3, 4], 10)]
    ds = timeseries_dataset_from_array(np.arange(5), None, sequence_length=4, batch_size=None)
    assert batches(ds) == [[0, 1, 2, 3], [1, 2, 3, 4]]


def test_keras2_preprocessing_paths():
    assert lstmkit.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array
    assert lstmkit.preprocessing.timeseries.timeseries_dataset_from_array is timeseries_dataset_from_array


def test_shuffle_is_a_seeded_permutation_renewed_each_pass():
    data = np.arange(30)
    ds = timeseries_dataset_from_array(
        data, data * 10, sequence_length=4, sequence_stride=2, batch_size=3, shuffle=True, seed=7
    )
    first = np.concatenate([y for _, y in ds]) // 10
    expected = np.arange(0, 27, 2)
    np.random.RandomState(7).shuffle(expected)  # the window order Keras starts from
    np.testing.assert_array_equal(first, expected)
    second = np.concatenate([y for _, y in ds]) // 10
    assert sorted(second) == sorted(first) and not np.array_equal(second, first)
    again = timeseries_dataset_from_array(
        data, data * 10, sequence_length=4, sequence_stride=2, batch_size=3, shuffle=True, seed=7
    )
    np.testing.assert_array_equal(np.concatenate([y for _, y in again]) // 10, first)
    for x, y in again:  # every window still matches its target
        np.testing.assert_array_equal(x, y[:, None] // 10 + np.arange(4))


def test_shuffle_without_seed_uses_numpys_global_generator():
    def order():
        ds = timeseries_dataset_from_array(np.arange(12), np.arange(12), sequence_length=2, shuffle=True)
        return ds[0][1]

    np.random.seed(1)
    a = order()
    np.random.seed(1)
    np.testing.assert_array_equal(order(), a)


def test_too_short_says_how_many_rows():
    with pytest.raises(ValueError) as info:
        timeseries_dataset_from_array(np.arange(4), None, sequence_length=3, sampling_rate=2)
    assert (
        "data is too short for even one window. A window of sequence_length=3 with sampling_rate=2 spans 5 "
        "rows, so data[start_index:end_index] needs at least 5 rows, but it has 4 (start_index=0, "
        "end_index=4)."
    ) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"start_index": 10},
            (
                "start_index must be lower than the length of the data. Received: start_index=10, "
                "for data of length 10."
            ),
        ),
        (
            {"start_index": 5, "end_index": 5},
            (
                "end_index must be higher than start_index (end_index is exclusive). "
                "Received: start_index=5, end_index=5."
            ),
        ),
        (
            {"end_index": 11},
            "end_index=11 is past the end of the data (length 10); end_index is exclusive, so at most 10.",
        ),
        ({"sequence_length": 0}, "sequence_length must be a positive integer. Received: sequence_length=0"),
        ({"sequence_stride": 0}, "sequence_stride must be a positive integer. Received: sequence_stride=0"),
        ({"batch_size": 0}, "batch_size must be a positive integer. Received: batch_size=0"),
        ({"start_index": -1}, "start_index must be an integer >= 0. Received: start_index=-1"),
    ],
)
def test_argument_errors(kwargs, message):
    args = {"sequence_length": 2, **kwargs}
    with pytest.raises(ValueError) as info:
        timeseries_dataset_from_array(np.arange(10), None, **args)
    assert message in str(info.value)


def test_type_and_index_errors():
    with pytest.raises(
        TypeError,
        match=r"sequence_length must be a positive integer\. Received: sequence_length=3\.0 "
        r"\(type float\)\. Use sequence_length=3\.",
    ):
        timeseries_dataset_from_array(np.arange(10), None, sequence_length=3.0)
    with pytest.raises(
        ValueError,
        match=r"targets has 2 rows, so no window starting at or after start_index=3 has "
        r"a target",
    ):
        timeseries_dataset_from_array(np.arange(10), np.arange(2), sequence_length=2, start_index=3)
    ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=2, batch_size=4)
    with pytest.raises(IndexError, match=r"the dataset has 3 batches \(0\.\.2\); received index 3\."):
        ds[3]


def test_dataset_methods_that_tutorials_call():
    series = np.arange(20, dtype="float32")
    ds = timeseries_dataset_from_array(series[:-3], series[3:], sequence_length=3, batch_size=4)
    assert int(ds.cardinality()) == ds.cardinality().numpy() == len(ds) == 4  # 15 windows -> 4 batches
    first = list(ds.take(1))
    assert len(first) == 1
    x, y = first[0]
    np.testing.assert_array_equal(x, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    np.testing.assert_array_equal(y, [3, 4, 5, 6])
    assert len(ds.take(-1)) == 4 and len(ds.skip(2)) == 2
    np.testing.assert_array_equal(next(iter(ds.skip(3)))[0], [[12, 13, 14], [13, 14, 15], [14, 15, 16]])
    windows = list(ds.unbatch().as_numpy_iterator())
    assert len(windows) == 15 and windows[5][0].shape == (3,) and windows[5][1] == 8
    rebatched = ds.unbatch().batch(8)
    assert len(rebatched) == 2 and next(iter(rebatched))[0].shape == (8, 3)
