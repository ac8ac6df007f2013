"""CPU settings of a run (training/threads.py, training/denormals.py): denormals flushed inside
fit/evaluate/predict and restored after, in the caller and in torch's worker threads; threads chosen
from the size of one operation and the cores other processes keep busy."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lstmkit.callbacks import Callback
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential
from lstmkit.optimizers import SGD
from lstmkit.training import threads
from lstmkit.training.denormals import flush_denormal_active, flushed
from lstmkit.training.threads import PARALLEL_WORK, SMALL_WORK, threads_for, work_per_op

SUBNORMAL = 1e-39

pytestmark = pytest.mark.skipif(
    not torch.set_flush_denormal(False), reason="this CPU cannot flush denormals (no SSE3)"
)


class FlushProbe(Callback):
    """Records whether denormals are flushed at every hook that runs inside a loop."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(("train", flush_denormal_active()))

    def on_test_batch_end(self, batch, logs=None):
        self.seen.append(("test", flush_denormal_active()))

    def on_predict_batch_end(self, batch, logs=None):
        self.seen.append(("predict", flush_denormal_active()))


def _model():
    model = Sequential([LSTM(3, input_shape=(4, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_flushing_is_on_inside_fit_evaluate_predict_and_restored_after(rng):
    x, y = rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 1))
    model, probe = _model(), FlushProbe()
    assert not flush_denormal_active()
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[probe], validation_data=(x, y))
    assert not flush_denormal_active()
    model.evaluate(x, y, verbose=0, callbacks=[probe])
    assert not flush_denormal_active()
    model.predict(x, verbose=0, callbacks=[probe])
    assert not flush_denormal_active()
    phases = {phase for phase, _ in probe.seen}
    assert phases == {"train", "test", "predict"}
    assert all(active for _, active in probe.seen), probe.seen


def test_a_setting_made_by_the_user_is_kept(rng):
    x, y = rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 1))
    torch.set_flush_denormal(True)
    try:
        _model().fit(x, y, epochs=1, verbose=0)
        assert flush_denormal_active()
    finally:
        torch.set_flush_denormal(False)


def test_subnormal_gradients_become_zero_in_training():
    """A backward pass whose gradient is subnormal: NumPy (no flushing) gets a nonzero update, fit an exact 0."""
    x = np.full((4, 1), 1e-20, dtype=np.float32)
    y = np.full((4, 1), 1e-19, dtype=np.float32)
    # Reference without flushing: d mse / d w = 2 * mean((w x + b - y) * x) at w = 0, b = 0.
    expected_step = -np.float32(2) * np.mean((np.float32(0) - y) * x)
    assert 0 < abs(expected_step) < np.finfo(np.float32).tiny  # the update is a subnormal number
    model = Sequential([Dense(1, input_shape=(1,), kernel_initializer="zeros")])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert model.get_weights()[0][0, 0] == 0.0  # flushed: the subnormal update vanished
    # Outside fit the same arithmetic keeps the subnormal value.
    w = torch.zeros(1, requires_grad=True)
    torch.nn.functional.mse_loss(
        w * torch.from_numpy(x).reshape(-1), torch.from_numpy(y).reshape(-1)
    ).backward()
    assert 0 < abs(float(w.grad)) < np.finfo(np.float32).tiny


def test_worker_threads_flush_too_and_are_restored():
    """torch.set_flush_denormal changes only the calling thread; a parallel operation's other threads
    must flush as well while lstmkit runs, and stop flushing afterwards."""
    subnormals = torch.full((1_000_000,), SUBNORMAL)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert int(((subnormals * 0.5) == 0).sum()) == 0  # the worker pool exists and does not flush
        with flushed(torch.device("cpu")):
            assert bool(((subnormals * 0.5) == 0).all())
        assert int(((subnormals * 0.5) == 0).sum()) == 0
    finally:
        torch.set_num_threads(previous)


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.delenv("LSTMKIT_NUM_THREADS", raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_threads_from_the_work_of_one_operation_and_the_load_of_the_machine(monkeypatch, two_threads):
    small = Sequential([LSTM(10, input_shape=(1, 1)), Dense(1)])  # the tutorial example
    medium = Sequential([LSTM(64, input_shape=(50, 8)), Dense(1)])
    large = Sequential([LSTM(512, input_shape=(50, 8)), Dense(1)])
    for model in (small, medium, large):
        model.build((None,) + model.layers[0].input_shape_declared[1:])
    # one timestep of an LSTM is batch x 4u(f + u + 1) multiply-adds: that is the operation that counts
    assert work_per_op(small, 9) == 9 * 4 * 10 * (1 + 10 + 1)  # kernel, recurrent kernel, bias
    assert work_per_op(medium, 128) == 128 * 4 * 64 * (8 + 64 + 1)
    assert work_per_op(large, 128) == 128 * 4 * 512 * (8 + 512 + 1)
    assert (
        work_per_op(small, 9)
        < SMALL_WORK
        < work_per_op(medium, 128)
        < PARALLEL_WORK
        < work_per_op(large, 128)
    )
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cpu = torch.device("cpu")
    # (cores other processes keep busy, model, batch) -> threads inside the run
    for busy, threads_inside in [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (None, 1)]:
        monkeypatch.setattr(threads, "busy_cores_of_others", lambda busy=busy: busy)
        with threads_for(cpu, work_per_op(medium, 128)):
            assert torch.get_num_threads() == threads_inside, busy
        assert torch.get_num_threads() == 2
        with threads_for(cpu, work_per_op(small, 9)):  # quiet or not: one thread for tiny operations
            assert torch.get_num_threads() == 1
        with threads_for(cpu, work_per_op(large, 128)):  # busy or not: all cores for large ones
            assert torch.get_num_threads() == 2
    monkeypatch.setenv("LSTMKIT_NUM_THREADS", "2")
    with threads_for(cpu, work_per_op(small, 9)):
        assert torch.get_num_threads() == 2


def test_on_a_larger_machine_the_cores_left_free_are_used(monkeypatch, two_threads):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 3.2)
    torch.set_num_threads(16)
    with threads_for(torch.device("cpu"), 2_400_000):
        assert torch.get_num_threads() == 13  # 16 - 3 busy cores
    assert torch.get_num_threads() == 16


def test_the_load_meter_subtracts_this_process_own_time(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    meter = threads._LoadMeter()
    # (time, machine busy ticks, machine total ticks, own ticks): 100 ticks per core elapse, the machine
    # is busy for 150 of the 200, 100 of them this process's own -> others keep half a core busy
    samples = iter([(0.0, 1000, 5000, 300), (1.0, 1150, 5200, 400)])
    monkeypatch.setattr(meter, "_sample", lambda: next(samples))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    assert meter.busy_cores() == pytest.approx(0.5)
    assert meter.busy_cores() == pytest.approx(0.5)  # reused within a second: nothing read
    monkeypatch.setattr(meter, "_sample", lambda: (_ for _ in ()).throw(OSError("no /proc")))
    assert threads._LoadMeter().busy_cores() is None


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="the load meter reads Linux's /proc")
def test_a_busy_process_is_seen_by_the_load_meter():
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 5: pass"]
    )
    try:
        import time

        time.sleep(0.5)  # let it start spinning
        busy = threads._LoadMeter().busy_cores()
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and busy >= 0.5, busy
