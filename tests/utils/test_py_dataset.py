"""PyDataset / Sequence: the batch-per-index protocol, the stored worker settings, batch (un)packing."""

import itertools

import numpy as np
import pytest

import lstmkit.utils.data_utils
from lstmkit.utils import PyDataset, Sequence, pack_x_y_sample_weight, unpack_x_y_sample_weight


class Squares(PyDataset):
    """Keras 3 style: forwards the worker settings to the base class."""

    def __init__(self, n, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = np.arange(n, dtype="float32")
        self.batch_size = batch_size
        self.epochs_ended = 0

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index):
        part = self.x[index * self.batch_size : (index + 1) * self.batch_size]
        return part[:, None], part**2

    def on_epoch_end(self):
        self.epochs_ended += 1


class Keras2Style(Sequence):
    """Keras 2 style: no super().__init__() call."""

    def __init__(self):
        self.data = [np.zeros((2, 1)), np.ones((1, 1))]

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index], self.data[index]


def test_sequence_is_pydataset_and_keras2_path():
    assert Sequence is PyDataset
    assert lstmkit.utils.data_utils.Sequence is PyDataset


def test_batches_by_index_and_iteration():
    ds = Squares(5, 2)
    assert len(ds) == ds.num_batches == 3
    x, y = ds[2]
    np.testing.assert_array_equal(x, [[4.0]])
    np.testing.assert_array_equal(y, [16.0])
    ys = [y.tolist() for _, y in ds]
    assert ys == [[0.0, 1.0], [4.0, 9.0], [16.0]]
    assert ds.epochs_ended == 0  # iterating runs no epoch hooks; fit does
    ds.on_epoch_begin()
    ds.on_epoch_end()
    assert ds.epochs_ended == 1


def test_worker_settings_are_stored():
    ds = Squares(4, 2, workers=3, use_multiprocessing=True, max_queue_size=5)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (3, True, 5)
    ds.workers = 0
    assert ds.workers == 0
    plain = Squares(4, 2)
    assert (plain.workers, plain.use_multiprocessing, plain.max_queue_size) == (1, False, 10)


def test_subclass_without_super_init_gets_defaults():
    ds = Keras2Style()
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (1, False, 10)
    assert [x.shape for x, _ in ds] == [(2, 1), (1, 1)]


def test_bad_worker_settings():
    with pytest.raises(ValueError, match=r"Squares: workers must be an integer >= 0. Received: workers=-1"):
        Squares(4, 2, workers=-1)
    with pytest.raises(TypeError, match=r"Squares: max_queue_size must be an integer"):
        Squares(4, 2, max_queue_size="10")
    with pytest.raises(TypeError, match="unexpected keyword argument 'worker'"):
        Squares(4, 2, worker=2)


def test_unimplemented_methods_say_what_to_write():
    class Empty(PyDataset):
        pass

    with pytest.raises(
        NotImplementedError,
        match=r"Empty must implement __len__\(self\), returning the number of "
        r"batches per epoch",
    ):
        len(Empty())
    with pytest.raises(NotImplementedError, match=r"Empty must implement __getitem__\(self, index\)"):
        Empty()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        list(Empty())


def test_endless_dataset_iterates_by_index():
    class Endless(PyDataset):
        def __getitem__(self, index):
            return np.full((1, 1), index), np.zeros(1)

    firsts = [int(x[0, 0]) for x, _ in itertools.islice(Endless(), 4)]
    assert firsts == [0, 1, 2, 3]


def test_unpack_and_pack():
    x, y, w = np.zeros(1), np.ones(1), np.full(1, 2.0)
    assert unpack_x_y_sample_weight(x) == (x, None, None)
    assert unpack_x_y_sample_weight((x,)) == (x, None, None)
    assert unpack_x_y_sample_weight([x, y]) == (x, y, None)
    assert unpack_x_y_sample_weight((x, y, w)) == (x, y, w)
    with pytest.raises(
        ValueError,
        match=r"A batch must be x, \(x,\), \(x, y\) or \(x, y, sample_weight\); "
        r"received a tuple of 4 items",
    ):
        unpack_x_y_sample_weight((x, y, w, w))
    assert pack_x_y_sample_weight(x) is x
    assert pack_x_y_sample_weight((x, x)) == ((x, x),)
    assert pack_x_y_sample_weight(x, y) == (x, y)
    assert pack_x_y_sample_weight(x, y, w) == (x, y, w)
