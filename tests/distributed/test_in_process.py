"""The distributed pieces that need no second process: sharding layouts (every rank simulated in this
process), the merging of logs, the gradient wiring of a training step, and the single-process path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.distributed as dist

from lstmkit.callbacks import ProgbarLogger
from lstmkit.distributed import run_for
from lstmkit.distributed.sharding import Shard, contiguous_block, split_step
from lstmkit.layers import LSTM, Dense
from lstmkit.metrics import Metric, Precision
from lstmkit.models import Sequential
from lstmkit.training.logs import EpochLogs
from lstmkit.training.loops import TrainStep
from lstmkit.training.sources import BatchLoader
from lstmkit.utils import Sequence


@pytest.fixture(autouse=True)
def _not_launched(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("n, batch", [(1, 4), (3, 1), (7, 2), (16, 4), (17, 4), (35, 8), (9, 5)])
@pytest.mark.parametrize("shuffle", [True, False, "batch"])
def test_training_shards_use_every_sample_once_and_sum_to_the_step_mean(world, n, batch, shuffle):
    x = torch.arange(n, dtype=torch.float32).reshape(n, 1, 1)
    sources = [
        Shard(r, world, True).arrays(x, x[:, 0], None, torch.device("cpu"), batch, shuffle)
        for r in range(world)
    ]
    for r, source in enumerate(sources):
        torch.manual_seed(r)  # the global RNG differs per rank: the order must not depend on it
        source.seed = 42
    assert len({s.steps for s in sources}) == 1 and sources[0].steps == math.ceil(n / (batch * world))
    for epoch in range(2):
        counted, factors = [], np.zeros(sources[0].steps)
        for source in sources:
            for index, (xb, _, _) in enumerate(source.batches(epoch)):
                factor, count = source.share(index, xb.shape[0])
                assert xb.shape[0] == max(count, 1) and (count == 0) == (factor == 0)
                counted += xb[:count, 0, 0].long().tolist()
                factors[index] += factor
        assert sorted(counted) == list(range(n))
        np.testing.assert_allclose(factors, 1.0)


@pytest.mark.parametrize("world", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 2, 5, 6])
def test_sequence_shards_use_every_batch_once(world, length):
    class Seq(Sequence):
        def __len__(self):
            return length

        def __getitem__(self, i):
            return np.full((2, 1, 1), i, dtype="float32"), np.zeros((2, 1), dtype="float32")

    for training in (True, False):
        seen, factors = [], {}
        for r in range(world):
            source = Shard(r, world, training).sequence(
                Seq(), BatchLoader(torch.device("cpu"), "seq"), shuffle=training
            )
            source.seed = 7
            for index, (xb, _, _) in enumerate(source.batches(0)):
                factor, count = source.share(index, xb.shape[0])
                if count:
                    seen.append(int(xb[0, 0, 0]))
                factors[index] = factors.get(index, 0.0) + factor
        assert sorted(seen) == list(range(length)), training
        if training:
            assert factors == pytest.approx({i: 1.0 for i in range(math.ceil(length / world))})


def test_evaluation_blocks_are_contiguous_in_rank_order_and_pad_when_short():
    x = torch.arange(7, dtype=torch.float32).reshape(7, 1, 1)
    rows = []
    for r in range(3):
        source = Shard(r, 3, False).arrays(x, None, None, torch.device("cpu"), 2)
        for index, (xb, _, _) in enumerate(source.batches(0)):
            rows += xb[: source.share(index, xb.shape[0])[1], 0, 0].tolist()
    assert rows == list(range(7))
    assert [split_step(5, 2, r) for r in (0, 1)] == [(0, 3), (3, 2)]
    assert [contiguous_block(1, 2, r) for r in (0, 1)] == [(0, 0), (0, 1)]
    padded = Shard(0, 2, False).arrays(x[:1], None, None, torch.device("cpu"), 4)
    assert padded.share(0, 1) == (1.0, 0)


def test_training_on_a_generator_needs_steps_per_epoch():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        Shard(0, 2, True).iterable(
            iter([]), BatchLoader(torch.device("cpu"), "the training data"), None, 0, 10
        )


# ---------------------------------------------------------------------------- logs
class MeanPrediction(Metric):
    """A user's metric with its own state: merged by results weighted by each process's sample count."""

    def reset_state(self):
        self.total, self.n = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total, self.n = self.total + float(y_pred.sum()), self.n + y_pred.shape[0]

    def result_tensor(self):
        return torch.tensor(self.total / max(self.n, 1))


def test_merged_logs_equal_the_logs_of_all_the_data():
    from lstmkit.training.compile_config import CompileConfig

    rng = np.random.default_rng(0)
    y = torch.tensor(rng.integers(0, 2, (10, 1)), dtype=torch.float32)
    p = torch.tensor(rng.random((10, 1)), dtype=torch.float32)
    loss = torch.tensor(0.5)

    def logs_of(rows):
        logs = EpochLogs(
            CompileConfig("sgd", "mse", ["mae", Precision(), MeanPrediction(name="mean_prediction")])
        )
        for part in np.array_split(np.arange(10)[rows], 2):
            logs.update(loss, len(part), y[part], p[part])
        return logs

    whole, first, second = logs_of(slice(None)), logs_of(slice(0, 6)), logs_of(slice(6, None))
    packed = {}
    second.synchronize(lambda t: packed.setdefault("other", t.clone()), torch.device("cpu"))
    first.synchronize(lambda t: t.add_(packed["other"]), torch.device("cpu"))
    merged = first.results()
    expected = whole.results()
    assert merged["mae"] == pytest.approx(expected["mae"], rel=1e-6)  # float32 sums per batch
    assert merged["precision"] == pytest.approx(expected["precision"], rel=1e-12)
    assert merged["mean_prediction"] == pytest.approx(expected["mean_prediction"], rel=1e-6)
    assert merged["loss"] == pytest.approx(0.5) and first.count == 10


# ---------------------------------------------------------------------------- the training step
class _FakeRun:
    """Stands for two processes that computed the same gradient: the sum doubles it."""

    world_size, rank = 2, 0

    def __init__(self):
        self.sums = 0

    def sum_(self, tensor):
        self.sums += 1
        return tensor.mul_(2)

    def broadcast_(self, tensor):
        return tensor


@pytest.mark.parametrize(
    "layers",
    [lambda: [LSTM(3, input_shape=(4, 2)), Dense(1)], lambda: [Dense(1, use_bias=False, input_shape=(2,))]],
    ids=["flat-buffer", "one-parameter"],
)
def test_a_distributed_step_updates_like_one_process(layers):
    x = torch.randn(6, 4, 2) if len(layers()) == 2 else torch.randn(6, 2)
    y = torch.randn(6, 1)
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Sequential(layers())
        model.compile(optimizer="sgd", loss="mse")
        models.append(model)
    single, distributed = models
    run = _FakeRun()
    one, two = TrainStep(single, single.compiled), TrainStep(distributed, distributed.compiled, run)
    for _ in range(3):
        one(x, y, None)
        two(x, y, None, scale=0.5)  # half of the step in each of two processes
    assert run.sums >= 3  # one sum per step (and the weight broadcast of the first step is not a sum)
    for a, b in zip(single.get_weights(), distributed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- one process
def test_the_distributed_argument_outside_torchrun():
    assert run_for("auto", "fit") is None and run_for(False, "fit") is None
    with pytest.raises(ValueError, match="torchrun --nproc_per_node"):
        run_for(True, "fit")
    with pytest.raises(ValueError, match="'auto', True or False"):
        run_for("yes", "fit")


def test_one_process_does_no_collective_and_creates_no_group(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a collective was called outside torchrun")

    for name in ("all_reduce", "broadcast", "all_gather", "all_gather_object", "init_process_group"):
        monkeypatch.setattr(dist, name, refuse)
    model = Sequential([LSTM(2, input_shape=(3, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = np.random.rand(10, 3, 1), np.random.rand(10, 1)
    model.fit(x, y, epochs=2, batch_size=4, validation_split=0.2, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert model.predict(x, verbose=0).shape == (10, 1)
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="torchrun"):
        model.fit(x, y, verbose=0, distributed=True)


def test_an_unbuilt_model_fits_on_a_sequence():
    class Batches(Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full((4, 5, 2), i, dtype="float32"), np.ones((4, 1), dtype="float32")

    model = Sequential([LSTM(3), Dense(1)])  # no input shape: the first batch builds it
    model.compile(optimizer="adam", loss="mse")
    assert len(model.fit(Batches(), epochs=2, verbose=0).history["loss"]) == 2


def test_an_explicit_progbar_logger_is_silent_off_rank_0(monkeypatch, capsys):
    monkeypatch.setattr("lstmkit.backend.is_main_process", lambda: False)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.rand(8, 2), np.random.rand(8, 1)
    model.fit(x, y, epochs=2, verbose=1, callbacks=[ProgbarLogger()])
    model.evaluate(x, y, verbose=1, callbacks=[ProgbarLogger()])
    model.predict(x, verbose=1, callbacks=[ProgbarLogger()])
    assert capsys.readouterr().out == ""
