"""medium: a compute-bound LSTM regression, timed per epoch.

8192 samples × 50 timesteps × 8 features -> LSTM(64) -> Dense(1), Adam, MSE, batch 128. The default
(tanh/sigmoid) LSTM runs PyTorch's fused kernel in lstmkit and in the plain loop (``nn.LSTM``);
``medium-generic`` (medium_generic.py) is the same problem with a relu LSTM, which needs a step loop.
"""

from __future__ import annotations

from workloads._common import (
    dense_flops,
    epoch_result,
    keras_fit,
    lstm_flops,
    lstmkit_fit,
    lstmkit_jit_fit,
    regression_data,
    small_warmup,
    torch_fit,
    torch_lstm_regressor,
    training_flops,
)

NAME = "medium"
TITLE = "8192 × 50 × 8 → LSTM(64) → Dense(1), batch 128"
MEASURE = "s/epoch"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = False
ACTIVATION = "tanh"
FEATURES, UNITS, BATCH = 8, 64, 128
FLOP_FORMULA = "per epoch 3 × [2·T·N·4u·(f+u) + 2·N·u] (one LSTM with f=8, u=64, Dense u→1)"


def config(quick: bool) -> dict:
    if quick:
        return {"samples": 512, "timesteps": 10, "epochs": 2}
    return {"samples": 8192, "timesteps": 50, "epochs": 3}


def warmup(cfg: dict) -> dict:
    return small_warmup(cfg, BATCH)


def data(cfg: dict):
    return regression_data(cfg, FEATURES)


def epoch_gflop(cfg: dict) -> float:
    n, t = cfg["samples"], cfg["timesteps"]
    return training_flops(lstm_flops(t, n, FEATURES, UNITS) + dense_flops(n, UNITS, 1)) / 1e9


def _result(cfg: dict, epoch_seconds, loss) -> dict:
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))


def run_lstmkit(cfg: dict, device: str, activation: str = ACTIVATION, jit: bool = False) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x, y = data(cfg)
    model = Sequential(
        [LSTM(UNITS, activation=activation, input_shape=(cfg["timesteps"], FEATURES)), Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse", jit_compile=jit)
    if jit:
        _, epoch_seconds, loss, compile_seconds = lstmkit_jit_fit(model, x, y, BATCH, cfg["epochs"], device)
        return {**_result(cfg, epoch_seconds, loss), "compile_seconds": compile_seconds}
    _, epoch_seconds, loss = lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_torch(cfg: dict, device: str, activation: str = ACTIVATION) -> dict:
    import torch

    x_np, y_np = data(cfg)
    net = torch_lstm_regressor(FEATURES, UNITS, activation=activation).to(device)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    epoch_seconds, loss = torch_fit(net, x, y, torch.nn.MSELoss(), BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_keras(cfg: dict, device: str, activation: str = ACTIVATION) -> dict:
    import keras

    x, y = data(cfg)
    model = keras.Sequential(
        [
            keras.Input((cfg["timesteps"], FEATURES)),
            keras.layers.LSTM(UNITS, activation=activation),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    _, epoch_seconds, loss = keras_fit(model, x, y, BATCH, cfg["epochs"])
    return _result(cfg, epoch_seconds, loss)
