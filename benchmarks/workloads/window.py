"""window: the univariate window forecaster of the time-series tutorials.

A series of 103 values cut into 100 windows of 3 steps, each predicting the next value:
(100, 3, 1) -> LSTM(50, activation='relu') -> Dense(1), Adam, MSE, 300 epochs of batch 32 (Keras's
default), shuffled. A relu LSTM has no fused kernel anywhere, so every implementation runs a step loop.
The time is the whole ``fit``.
"""

from __future__ import annotations

import time

import numpy as np

from workloads._common import keras_fit, lstmkit_fit, lstmkit_jit_fit, sync, torch_fit, torch_lstm_regressor

NAME = "window"
TITLE = "window forecaster: 100 × 3 × 1 → LSTM(50, relu) → Dense(1), fit 300 epochs, batch 32"
MEASURE = "s per fit"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "lstmkit-jit", "torch", "keras")
ISOLATED = False
UNITS, STEPS, BATCH = 50, 3, 32


def config(quick: bool) -> dict:
    return {"windows": 100, "epochs": 10 if quick else 300}


def warmup(cfg: dict) -> dict:
    return {**cfg, "epochs": min(cfg["epochs"], 5)}


def data(windows: int):
    """A smooth series in [0, 1] (a slow rise plus a seasonal wave), cut into overlapping windows."""
    t = np.arange(windows + STEPS, dtype="float64")
    series = (0.5 + 0.3 * np.sin(t / 4.0) + 0.2 * t / len(t)).astype("float32")
    x = np.stack([series[i : i + STEPS] for i in range(windows)])[:, :, None]
    y = series[STEPS : STEPS + windows, None]
    return x, y


def run_lstmkit(cfg: dict, device: str, jit: bool = False) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x, y = data(cfg["windows"])
    model = Sequential([LSTM(UNITS, activation="relu", input_shape=(STEPS, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=jit)
    if jit:
        seconds, _, loss, compile_seconds = lstmkit_jit_fit(model, x, y, BATCH, cfg["epochs"], device)
        return {"value": seconds, "loss": loss, "compile_seconds": compile_seconds}
    seconds, _, loss = lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)
    return {"value": seconds, "loss": loss}


def run_lstmkit_jit(cfg: dict, device: str) -> dict:
    return run_lstmkit(cfg, device, jit=True)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    net = torch_lstm_regressor(1, UNITS, activation="relu").to(device)
    x_np, y_np = data(cfg["windows"])
    start = time.perf_counter()
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    _, loss = torch_fit(net, x, y, torch.nn.MSELoss(), BATCH, cfg["epochs"], device, epoch_sync=False)
    sync(device)
    return {"value": time.perf_counter() - start, "loss": loss}


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x, y = data(cfg["windows"])
    model = keras.Sequential(
        [
            keras.Input((STEPS, 1)),
            keras.layers.LSTM(UNITS, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    seconds, _, loss = keras_fit(model, x, y, BATCH, cfg["epochs"])
    return {"value": seconds, "loss": loss}
