"""Flatten, Reshape, Permute and RepeatVector against NumPy, with shapes, configs and errors."""

import numpy as np
import pytest
import torch

from lstmkit.layers import LSTM, Dense, Flatten, InputShapeError, Permute, RepeatVector, Reshape
from lstmkit.layers.core import Flatten as FlattenFromCore
from lstmkit.layers.core import Permute as PermuteFromCore
from lstmkit.layers.core import RepeatVector as RepeatVectorFromCore
from lstmkit.layers.core import Reshape as ReshapeFromCore
from lstmkit.models import Sequential

from .layer_checks import round_trip


def _t(a):
    return torch.tensor(a, dtype=torch.float32)


def test_keras2_core_module_path():
    assert (FlattenFromCore, ReshapeFromCore, PermuteFromCore, RepeatVectorFromCore) == (
        Flatten,
        Reshape,
        Permute,
        RepeatVector,
    )


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_flatten_equals_numpy(rng, shape):
    x = rng.normal(size=shape)
    layer = Flatten()
    np.testing.assert_array_equal(layer(_t(x)).numpy(), x.reshape(shape[0], -1).astype("float32"))
    assert layer.compute_output_shape((None,) + shape[1:]) == (None, int(np.prod(shape[1:])))


def test_flatten_channels_first_unknown_sizes_and_1d(rng):
    x = rng.normal(size=(2, 3, 4, 5))  # (batch, channels, d1, d2)
    got = Flatten(data_format="channels_first")(_t(x)).numpy()
    np.testing.assert_array_equal(got, x.transpose(0, 2, 3, 1).reshape(2, -1).astype("float32"))
    assert Flatten().compute_output_shape((None, None, 4)) == (None, None)
    assert Flatten()(torch.ones(3)).shape == (3, 1)  # (batch,) -> (batch, 1), as in Keras
    round_trip(Flatten(data_format="channels_first", name="flat_cf"), _t(x))


@pytest.mark.parametrize(
    "target,expected",
    [
        ((6, 2), (6, 2)),
        ((-1, 3), (4, 3)),
        ((2, -1, 2), (2, 3, 2)),
        ((12,), (12,)),
        (12, (12,)),
        ([3, 4], (3, 4)),
    ],
)
def test_reshape_equals_numpy(rng, target, expected):
    x = rng.normal(size=(2, 3, 4))
    layer = Reshape(target)
    np.testing.assert_array_equal(layer(_t(x)).numpy(), x.reshape((2,) + expected).astype("float32"))
    assert layer.compute_output_shape((None, 3, 4)) == (None,) + expected
    dims = tuple(target) if isinstance(target, (tuple, list)) else (target,)
    assert layer.compute_output_shape((None, None, 4)) == (None,) + tuple(
        None if d == -1 else d for d in dims
    )


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"at most one -1.*Received: target_shape=\(-1, -1\)"):
        Reshape((-1, -1))
    with pytest.raises(
        ValueError, match="positive integers and at most one -1. Received: target_shape=\\(0, 2\\)"
    ):
        Reshape((0, 2))
    with pytest.raises(TypeError, match="target_shape must be a tuple"):
        Reshape(None)
    with pytest.raises(
        InputShapeError,
        match=r"cannot reshape an input of shape \(None, 3, 2\) \(6 values per "
        r"sample\) to target_shape=\(5, 2\) \(10 values\)",
    ):
        Sequential([Reshape((5, 2), input_shape=(3, 2))])
    with pytest.raises(InputShapeError, match="6 is not divisible by 5"):
        Reshape((5, -1))(torch.zeros(1, 3, 2))


def test_reshape_config_round_trip(rng):
    round_trip(Reshape((4, -1), name="rs"), _t(rng.normal(size=(2, 3, 4))))
    assert Reshape((4, -1)).get_config()["target_shape"] == (4, -1)


@pytest.mark.parametrize("dims,shape", [((2, 1), (2, 3, 4)), ((1, 2), (2, 3, 4)), ((3, 1, 2), (2, 3, 4, 5))])
def test_permute_equals_numpy(rng, dims, shape):
    x = rng.normal(size=shape)
    layer = Permute(dims)
    np.testing.assert_array_equal(layer(_t(x)).numpy(), x.transpose((0,) + dims).astype("float32"))
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + tuple(shape[d] for d in dims)


def test_permute_errors_and_config(rng):
    for dims in [(0, 1), (1, 3), (2, 2), (1.0, 2.0)]:
        with pytest.raises(ValueError, match=r"dims must be an ordering of 1..2 \(axes are numbered from 1"):
            Permute(dims)
    with pytest.raises(TypeError, match="dims must be a tuple such as"):
        Permute(2)
    with pytest.raises(
        InputShapeError, match=r"expects 3-D input.*received a 4-D input.*dims=\(2, 1\) permutes 2 axes"
    ):
        Sequential([Permute((2, 1), input_shape=(3, 4, 5))])
    round_trip(Permute((2, 1), name="perm"), _t(rng.normal(size=(2, 3, 4))))


def test_repeat_vector_equals_numpy_and_seq2seq_shapes(rng):
    x = rng.normal(size=(2, 4))
    layer = RepeatVector(3)
    np.testing.assert_array_equal(layer(_t(x)).numpy(), np.repeat(x[:, None, :], 3, axis=1).astype("float32"))
    assert layer.compute_output_shape((None, 4)) == (None, 3, 4)
    model = Sequential(
        [LSTM(5, input_shape=(6, 2)), RepeatVector(3), LSTM(4, return_sequences=True), Dense(1)]
    )
    assert model.output_shape == (None, 3, 1)
    round_trip(RepeatVector(3, name="rv"), _t(x))


def test_repeat_vector_errors():
    with pytest.raises(ValueError, match="n must be a positive integer. Received: n=0"):
        RepeatVector(0)
    with pytest.raises(InputShapeError, match="expects 2-D input.*set return_sequences=False on that layer"):
        Sequential([LSTM(5, input_shape=(6, 2), return_sequences=True), RepeatVector(3)])


def test_reshaping_layers_drop_the_mask():
    mask = torch.ones(2, 3, dtype=torch.bool)
    x = torch.zeros(2, 3, 4)
    for layer in (Flatten(), Reshape((12,)), Permute((2, 1))):
        assert layer.compute_mask(x, mask) is None and layer.count_params() == 0
