"""stacked: two LSTM layers, timed per epoch.

4096 × 100 × 16 -> LSTM(128, return_sequences=True) -> LSTM(128) -> Dense(1), Adam, MSE, batch 64. The
plain PyTorch version is ``nn.LSTM(16, 128, num_layers=2)``, how a PyTorch user stacks LSTMs (one cuDNN
call for both layers on a GPU).
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
    training_flops,
)

NAME = "stacked"
TITLE = "4096 × 100 × 16 → LSTM(128, return_sequences) → LSTM(128) → Dense(1), batch 64"
MEASURE = "s/epoch"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = False
FEATURES, UNITS, BATCH = 16, 128, 64
FLOP_FORMULA = (
    "per epoch 3 × [2·T·N·4u·(f+u) + 2·T·N·4u·(u+u) + 2·N·u] (LSTM f=16→u=128, LSTM u→u, Dense u→1)"
)


def config(quick: bool) -> dict:
    if quick:
        return {"samples": 256, "timesteps": 10, "epochs": 2}
    return {"samples": 4096, "timesteps": 100, "epochs": 2}


def warmup(cfg: dict) -> dict:
    return small_warmup(cfg, BATCH)


def data(cfg: dict):
    return regression_data(cfg, FEATURES)


def epoch_gflop(cfg: dict) -> float:
    n, t = cfg["samples"], cfg["timesteps"]
    forward = lstm_flops(t, n, FEATURES, UNITS) + lstm_flops(t, n, UNITS, UNITS) + dense_flops(n, UNITS, 1)
    return training_flops(forward) / 1e9


def _result(cfg: dict, epoch_seconds, loss) -> dict:
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))


def run_lstmkit(cfg: dict, device: str) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x, y = data(cfg)
    model = Sequential(
        [
            LSTM(UNITS, return_sequences=True, input_shape=(cfg["timesteps"], FEATURES)),
            LSTM(UNITS),
            Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    _, epoch_seconds, loss = lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(FEATURES, UNITS, num_layers=2, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.dense(h[-1])

    x_np, y_np = data(cfg)
    net = Net().to(device)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    epoch_seconds, loss = torch_fit(net, x, y, torch.nn.MSELoss(), BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x, y = data(cfg)
    model = keras.Sequential(
        [
            keras.Input((cfg["timesteps"], FEATURES)),
            keras.layers.LSTM(UNITS, return_sequences=True),
            keras.layers.LSTM(UNITS),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    _, epoch_seconds, loss = keras_fit(model, x, y, BATCH, cfg["epochs"])
    return _result(cfg, epoch_seconds, loss)
