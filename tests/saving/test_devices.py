"""Files do not depend on the device: tensors are saved from the CPU, loaded onto lstmkit.backend.device()."""

import textwrap

import numpy as np
import pytest
import torch

from lstmkit import backend, layers
from lstmkit.models import Sequential, load_model

from ..subprocesses import run_python
from .cases import FEATURES, TIMESTEPS, data


def _trained():
    model = Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(*data(n=16), epochs=1, verbose=0)
    return model


def test_a_loaded_model_is_placed_on_the_current_device(tmp_path):
    _trained().save(tmp_path / "m.keras")
    model = load_model(tmp_path / "m.keras")
    assert model.current_device() == backend.device()
    assert all(
        t.device == backend.device() for slots in model.optimizer.state.values() for t in slots.values()
    )


_LOAD_ON_CPU = textwrap.dedent("""
    import sys
    import numpy as np
    import torch
    from lstmkit.models import load_model
    assert not torch.cuda.is_available()
    model = load_model(sys.argv[1])
    assert model.current_device().type == "cpu"
    np.savez(sys.argv[2], *model.get_weights())
    model.fit(np.zeros((4, 5, 3), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)  # trains on
""")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_saved_on_gpu_loads_on_a_cpu_only_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "_device", torch.device("cuda"))
    model = _trained()
    assert model.current_device().type == "cuda"
    model.save(tmp_path / "gpu.keras")
    result = run_python(
        "-c",
        _LOAD_ON_CPU,
        tmp_path / "gpu.keras",
        tmp_path / "w.npz",
        timeout=300,
        CUDA_VISIBLE_DEVICES="",
        LSTMKIT_DEVICE="cpu",
    )
    assert result.returncode == 0, result.stderr
    on_cpu = np.load(tmp_path / "w.npz")
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(on_cpu[f"arr_{i}"], weight)
    on_gpu = load_model(tmp_path / "gpu.keras")  # and back on the GPU, with its optimizer state there too
    assert on_gpu.current_device().type == "cuda"
    assert all(t.is_cuda for slots in on_gpu.optimizer.state.values() for t in slots.values())
