"""seed: the five-step tutorial's worked example, fit for 1000 epochs in one full batch.

Nine samples (0.0 .. 0.8, each predicting the next tenth), shape (9, 1, 1) -> LSTM(10) -> Dense(1), Adam,
mean squared error. The time is the whole ``fit`` (per-step overhead dominates: the work per step is tiny).
"""

from __future__ import annotations

import time

import numpy as np

from workloads._common import keras_fit, lstmkit_fit, lstmkit_jit_fit, sync, torch_fit, torch_lstm_regressor

NAME = "seed"
TITLE = "tutorial example: 9 × 1 × 1 → LSTM(10) → Dense(1), fit 1000 epochs, full batch"
MEASURE = "s per fit"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "lstmkit-jit", "torch", "keras")
ISOLATED = False
UNITS = 10


def config(quick: bool) -> dict:
    return {"epochs": 50 if quick else 1000}


def warmup(cfg: dict) -> dict:
    return {**cfg, "epochs": min(cfg["epochs"], 20)}


def data():
    sequence = np.arange(10, dtype="float32") / 10.0
    return sequence[:-1].reshape(9, 1, 1), sequence[1:].reshape(9, 1)


def run_lstmkit(cfg: dict, device: str, jit: bool = False) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x, y = data()
    model = Sequential([LSTM(UNITS, input_shape=(1, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error", jit_compile=jit)
    if jit:
        seconds, _, loss, compile_seconds = lstmkit_jit_fit(model, x, y, len(x), cfg["epochs"], device)
        return {"value": seconds, "loss": loss, "compile_seconds": compile_seconds}
    seconds, _, loss = lstmkit_fit(model, x, y, len(x), cfg["epochs"], device)
    return {"value": seconds, "loss": loss}


def run_lstmkit_jit(cfg: dict, device: str) -> dict:
    return run_lstmkit(cfg, device, jit=True)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    net = torch_lstm_regressor(1, UNITS).to(device)
    x_np, y_np = data()
    start = time.perf_counter()
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    _, loss = torch_fit(net, x, y, torch.nn.MSELoss(), len(x), cfg["epochs"], device, epoch_sync=False)
    sync(device)
    return {"value": time.perf_counter() - start, "loss": loss}


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x, y = data()
    model = keras.Sequential([keras.Input((1, 1)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    seconds, _, loss = keras_fit(model, x, y, len(x), cfg["epochs"])
    return {"value": seconds, "loss": loss}
