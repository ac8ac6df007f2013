"""long: long sequences, where vanishing gradients pass through subnormal floats in the backward pass.

512 samples × 1000 timesteps × 4 features -> LSTM(32) -> Dense(1), Adam, MSE, batch 64, timed per epoch.
Every implementation runs a fused kernel (oneDNN on the CPU). The work per timestep is tiny (64 × 36 ×
128 multiply-adds), so the time goes to the serial chain of 1000 steps — and, unless denormals are
flushed to zero, to microcode assists on subnormal gradients (TensorFlow flushes them by default,
lstmkit inside fit/evaluate/predict; the plain PyTorch loop, as users write it, does not).
"""

from __future__ import annotations

from workloads._common import (
    dense_flops,
    epoch_result,
    keras_fit,
    lstm_flops,
    lstmkit_fit,
    regression_data,
    small_warmup,
    torch_fit,
    torch_lstm_regressor,
    training_flops,
)

NAME = "long"
TITLE = "512 × 1000 × 4 → LSTM(32) → Dense(1), batch 64: long sequences"
MEASURE = "s/epoch"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = False
FEATURES, UNITS, BATCH = 4, 32, 64
FLOP_FORMULA = "per epoch 3 × [2·T·N·4u·(f+u) + 2·N·u] (one LSTM with f=4, u=32, Dense u→1)"


def config(quick: bool) -> dict:
    if quick:
        return {"samples": 128, "timesteps": 100, "epochs": 2}
    return {"samples": 512, "timesteps": 1000, "epochs": 3}


def warmup(cfg: dict) -> dict:
    return small_warmup(cfg, BATCH)


def data(cfg: dict):
    return regression_data(cfg, FEATURES)


def epoch_gflop(cfg: dict) -> float:
    n, t = cfg["samples"], cfg["timesteps"]
    return training_flops(lstm_flops(t, n, FEATURES, UNITS) + dense_flops(n, UNITS, 1)) / 1e9


def run_lstmkit(cfg: dict, device: str) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x, y = data(cfg)
    model = Sequential([LSTM(UNITS, input_shape=(cfg["timesteps"], FEATURES)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    _, epoch_seconds, loss = lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    x_np, y_np = data(cfg)
    net = torch_lstm_regressor(FEATURES, UNITS).to(device)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    epoch_seconds, loss = torch_fit(net, x, y, torch.nn.MSELoss(), BATCH, cfg["epochs"], device)
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x, y = data(cfg)
    model = keras.Sequential(
        [keras.Input((cfg["timesteps"], FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    _, epoch_seconds, loss = keras_fit(model, x, y, BATCH, cfg["epochs"])
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))
