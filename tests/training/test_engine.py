"""Properties of the training engine that keep it fast (checked by counting, not timing):
no host synchronisation per batch, data converted and moved once per call, predict memory bounded."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import lstmkit.training.data as data_module
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential

SYNCING = {
    torch.Tensor.item,
    torch.Tensor.tolist,
    torch.Tensor.numpy,
    torch.Tensor.__float__,
    torch.Tensor.__int__,
    torch.Tensor.__bool__,
    torch.Tensor.cpu,
}


class CountCalls(TorchFunctionMode):
    """Counts tensor methods that read values back to the host, and Tensor.to calls with a device."""

    def __init__(self):
        super().__init__()
        self.syncs = 0
        self.moves = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in SYNCING:
            self.syncs += 1
        elif func is torch.Tensor.to and (
            any(isinstance(a, (torch.device, str)) for a in args[1:]) or "device" in (kwargs or {})
        ):
            self.moves += 1  # a move between devices (dtype conversions are not counted)
        return func(*args, **(kwargs or {}))


def _fit_counts(samples, epochs, batch_size=8, verbose=0, metrics=("mae",)):
    rng = np.random.default_rng(0)
    model = Sequential([LSTM(4, input_shape=(3, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=list(metrics))
    x, y = rng.normal(size=(samples, 3, 2)), rng.normal(size=(samples, 1))
    model.fit(x[:8], y[:8], epochs=1, verbose=0)  # build and resolve everything once, outside the count
    conversions = []
    original = data_module.to_tensor

    def counting_to_tensor(*args, **kwargs):
        conversions.append(args[1])
        return original(*args, **kwargs)

    data_module.to_tensor = counting_to_tensor
    import lstmkit.training.inputs as inputs_module

    inputs_module.to_tensor = counting_to_tensor
    try:
        with CountCalls() as counts:
            model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, validation_split=0.0)
    finally:
        data_module.to_tensor = original
        inputs_module.to_tensor = original
    return counts, conversions


def test_no_host_synchronisation_per_batch_when_silent():
    few, _ = _fit_counts(samples=32, epochs=2)  # 4 batches per epoch
    many, _ = _fit_counts(samples=256, epochs=2)  # 32 batches per epoch
    assert many.syncs == few.syncs, "host reads must not grow with the number of batches"
    more_epochs, _ = _fit_counts(samples=32, epochs=6)
    per_epoch = (more_epochs.syncs - few.syncs) / 4
    assert per_epoch <= 4  # the epoch's loss and one metric are read once each (plus their counts)


def test_data_is_converted_and_moved_once_per_fit():
    few, few_conversions = _fit_counts(samples=32, epochs=1)
    many, many_conversions = _fit_counts(samples=512, epochs=5)
    assert few_conversions == many_conversions == ["x", "y"]
    assert many.moves == few.moves  # Tensor.to calls do not grow with batches or epochs


def test_a_drawn_progress_bar_is_the_only_reason_to_read_values_per_batch(monkeypatch):
    from lstmkit.training import progress

    monkeypatch.setattr(progress, "is_live_display", lambda stream: True)
    monkeypatch.setattr(progress.Progbar, "__init__", _fast_progbar_init(progress.Progbar.__init__))
    live_few, _ = _fit_counts(samples=32, epochs=1, verbose=1)
    live_many, _ = _fit_counts(samples=256, epochs=1, verbose=1)
    assert live_many.syncs > live_few.syncs  # drawing every batch (interval 0) reads the values each time


def _fast_progbar_init(original):
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.interval = 0.0

    return init


PREDICT_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    def status_mb(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

    samples, dtype = int(sys.argv[1]), sys.argv[2]
    model = Sequential([LSTM(8, input_shape=(40, 4)), Dense(1)])
    # Warm up on an input like the measured one: lazy imports, thread pools and the allocator's arenas (8-25 MB
    # the first time, whatever the input's size) are one-time costs, not what predict adds per input. A copy of
    # the input would still show: blocks that large are mapped afresh at every allocation (glibc mmaps > 32 MB).
    x = np.random.default_rng(0).normal(size=(samples, 40, 4)).astype(dtype)
    model.predict(x[::-1].copy(), batch_size=256, verbose=0)
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current resident size
        f.write("5")
    before = status_mb("VmRSS")
    out = model.predict(x, batch_size=256, verbose=0)
    print(json.dumps({"input_mb": x.nbytes / 2**20, "growth_mb": status_mb("VmHWM") - before,
                      "output_shape": list(out.shape)}))
""")


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak resident size from /proc")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_streams_memory_stays_bounded_on_a_large_input(dtype):
    result = subprocess.run(
        [sys.executable, "-c", PREDICT_SCRIPT, "200000", dtype],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["output_shape"] == [200000, 1]
    # 122 MB (float32) or 244 MB (float64) of input: predicting may add the output (0.8 MB), a few batches of
    # activations and the allocator's 8-25 MB of arenas, not a converted copy of the input (122 MB).
    float32_copy_mb = report["input_mb"] * (4 / np.dtype(dtype).itemsize)  # what a converted copy would take
    assert report["growth_mb"] < 0.5 * float32_copy_mb, report
