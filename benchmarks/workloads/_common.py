"""Helpers shared by the workloads: data, FLOP counts, and the timed training loops of each implementation.

This module (like every workload module) imports only NumPy at the top: the Keras versions run in an
interpreter that may have no torch and no lstmkit, and the torch/lstmkit versions in one that may have no
Keras. Each helper imports its framework when it is called.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "KERAS_EPS",
    "KERAS_LR",
    "Skip",
    "adam_torch",
    "dense_flops",
    "keras_fit",
    "lstm_flops",
    "lstmkit_fit",
    "lstmkit_jit_fit",
    "per_epoch",
    "random_float",
    "sync",
    "torch_fit",
    "torch_lstm_regressor",
    "training_flops",
]

KERAS_LR = 1e-3  # Keras's Adam defaults, used by the plain PyTorch loops too
KERAS_EPS = 1e-7


class Skip(Exception):
    """An implementation cannot run this workload here (e.g. a layer it lacks); the message says why."""


# ----------------------------------------------------------------------------- data
def random_float(shape, seed=0) -> np.ndarray:
    """Standard-normal float32 data, drawn without a float64 temporary (keeps the predict RSS baseline honest)."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


# ----------------------------------------------------------------------------- FLOP counts
def lstm_flops(timesteps: int, samples: int, features: int, units: int) -> float:
    """Forward matmul FLOPs of one LSTM layer: 2*T*B*4u*(f+u) (input and recurrent products of the 4 gates)."""
    return 2.0 * timesteps * samples * 4 * units * (features + units)


def dense_flops(samples: int, inputs: int, outputs: int) -> float:
    return 2.0 * samples * inputs * outputs


def training_flops(forward: float) -> float:
    """Forward + backward: the backward pass does about twice the forward's matmul work (input and weight grads)."""
    return 3.0 * forward


# ----------------------------------------------------------------------------- torch
def sync(device) -> None:
    """Wait for queued GPU work, so that a clock read after it measures the work (no-op on the CPU)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def adam_torch(model):
    import torch

    return torch.optim.Adam(model.parameters(), lr=KERAS_LR, eps=KERAS_EPS)


def torch_fit(model, x, y, loss_fn, batch_size, epochs, device, epoch_sync=True):
    """The plain PyTorch training loop a competent user writes.

    x, y: tensors already on ``device``. Per epoch: a ``torch.randperm`` shuffle on the device (skipped when
    one batch holds everything: the order inside a full batch cannot change the mean loss), then
    zero_grad / forward / loss / backward / step per batch. The epoch's mean loss is accumulated on the
    device, as Keras's ``History`` has it, without a host synchronisation per batch.

    epoch_sync: wait for the device at each epoch's end and record per-epoch seconds (for workloads timed
    per epoch); otherwise only the whole loop is timed, by the caller.
    Returns ``(epoch_seconds, epoch_losses)``.
    """
    import torch

    optimizer = adam_torch(model)
    n = x.shape[0]
    model.train()
    epoch_seconds, losses = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, device=x.device) if n > batch_size else None
        total = torch.zeros((), device=x.device)
        for begin in range(0, n, batch_size):
            rows = slice(begin, begin + batch_size) if order is None else order[begin : begin + batch_size]
            xb, yb = x[rows], y[rows]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach() * yb.shape[0]
        losses.append(total / n)
        if epoch_sync:
            sync(device)
            epoch_seconds.append(time.perf_counter() - start)
    final_loss = float(losses[-1]) if losses else float("nan")
    return epoch_seconds, final_loss


# ----------------------------------------------------------------------------- lstmkit
def lstmkit_fit(model, x, y, batch_size, epochs, device):
    """``model.fit(verbose=0)`` with a callback that records each epoch's wall time.

    The callback overrides only the epoch hooks, so it adds no per-batch work. Returns
    ``(fit_seconds, epoch_seconds, final_loss)``.
    """
    from lstmkit.callbacks import Callback

    class EpochTimer(Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._start = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            sync(device)
            self.seconds.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    sync(device)
    seconds = time.perf_counter() - start
    return seconds, timer.seconds, float(history.history["loss"][-1])


def lstmkit_jit_fit(model, x, y, batch_size, epochs, device):
    """``lstmkit_fit`` of a model compiled with ``jit_compile=True``, after one untimed epoch that compiles
    its steps: the steady state with a warm cache. Returns ``lstmkit_fit``'s tuple and the seconds that
    first epoch took (tracing, and compiling or loading the compiled code from inductor's cache)."""
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    sync(device)
    compile_seconds = time.perf_counter() - start
    return (*lstmkit_fit(model, x, y, batch_size, epochs, device), compile_seconds)


# ----------------------------------------------------------------------------- keras
def keras_fit(model, x, y, batch_size, epochs):
    """Keras's ``model.fit(verbose=0)`` with an epoch-timing callback. Returns like ``lstmkit_fit``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._start = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    seconds = time.perf_counter() - start
    return seconds, timer.seconds, float(history.history["loss"][-1])


def per_epoch(epoch_seconds) -> float:
    """Mean seconds of the epochs after the first (the first pays one-time costs: tracing, allocator growth)."""
    timed = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    return float(np.mean(timed))


def epoch_result(epoch_seconds, loss, epoch_gflop: float) -> dict:
    """The result of a seconds-per-epoch workload: its value, GFLOP/s and the raw epoch times."""
    seconds = per_epoch(epoch_seconds)
    return {
        "value": seconds,
        "gflop_per_s": epoch_gflop / seconds,
        "epoch_seconds": epoch_seconds,
        "loss": loss,
    }


def small_warmup(cfg: dict, batch: int) -> dict:
    """The untimed warm-up of a per-epoch workload: two batches, one epoch."""
    return {**cfg, "samples": min(cfg["samples"], 2 * batch), "epochs": 1}


def regression_data(cfg: dict, features: int):
    """x (samples, timesteps, features) and y (samples, 1), standard normal, fixed seeds."""
    x = random_float((cfg["samples"], cfg["timesteps"], features), seed=0)
    y = random_float((cfg["samples"], 1), seed=1)
    return x, y


# ----------------------------------------------------------------------------- plain PyTorch models
def torch_lstm_regressor(features: int, units: int, activation: str = "tanh"):
    """(batch, timesteps, features) -> LSTM(units) -> Linear(1), as a plain PyTorch user writes it.

    tanh: ``nn.LSTM`` (the fused kernel; cuDNN on a GPU). relu: no fused kernel computes it, so the cell
    is written by hand: the input product of all timesteps in one matmul, then per timestep one ``addmm``
    for the recurrent product and the gate arithmetic.
    """
    import torch

    if activation == "tanh":

        class FusedNet(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = torch.nn.LSTM(features, units, batch_first=True)
                self.dense = torch.nn.Linear(units, 1)

            def forward(self, x):
                _, (h, _) = self.lstm(x)
                return self.dense(h[-1])

        return FusedNet()

    if activation != "relu":
        raise ValueError(f"activation must be 'tanh' or 'relu'; received {activation!r}")

    class LoopNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.input_proj = torch.nn.Linear(features, 4 * units)  # x W_ih^T + b
            self.recurrent = torch.nn.Parameter(torch.empty(4 * units, units))  # W_hh
            torch.nn.init.orthogonal_(self.recurrent)
            self.dense = torch.nn.Linear(units, 1)

        def forward(self, x):
            batch = x.shape[0]
            projected = self.input_proj(x)  # (batch, timesteps, 4u): one matmul for every timestep
            h = x.new_zeros(batch, units)
            c = x.new_zeros(batch, units)
            w_hh = self.recurrent.t()
            for z_x in projected.unbind(1):
                z = torch.addmm(z_x, h, w_hh)
                i, f, g, o = z.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.relu(g)
                h = torch.sigmoid(o) * torch.relu(c)
            return self.dense(h)

    return LoopNet()
