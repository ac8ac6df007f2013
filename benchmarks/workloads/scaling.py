"""scaling: how the time per epoch grows with the sequence length and the layer width.

(512 samples × T × 8 features) -> LSTM(u) -> Dense(1), Adam, MSE, batch 128, 2 epochs, the second timed.
Two sweeps: T = 10, 25, 50, 100, 200, 400 at u = 128, and u = 32, 64, 128, 256, 512 at T = 50 (the
default tanh LSTM: fused kernels in lstmkit and plain PyTorch). One run of an implementation measures
every point; the report gives a table of medians and a PNG plot (run.py --plot).
"""

from __future__ import annotations

from workloads._common import (
    dense_flops,
    keras_fit,
    lstm_flops,
    lstmkit_fit,
    regression_data,
    torch_fit,
    torch_lstm_regressor,
    training_flops,
)

NAME = "scaling"
TITLE = "512 × T × 8 → LSTM(u) → Dense(1), batch 128: T = 10…400 at u = 128, u = 32…512 at T = 50"
MEASURE = "s/epoch"
KIND = "scaling"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = False
FEATURES, BATCH, SAMPLES = 8, 128, 512
TIMESTEPS, UNITS = (10, 25, 50, 100, 200, 400), (32, 64, 128, 256, 512)
SWEEP_UNITS, SWEEP_TIMESTEPS = 128, 50  # what the timestep sweep and the units sweep hold fixed


def points(quick: bool) -> list[tuple[int, int]]:
    """(timesteps, units) of every point: the timestep sweep at u=128, then the units sweep at T=50."""
    if quick:
        return [(5, 16), (10, 16), (5, 32)]
    return [(t, SWEEP_UNITS) for t in TIMESTEPS] + [(SWEEP_TIMESTEPS, u) for u in UNITS if u != SWEEP_UNITS]


def config(quick: bool) -> dict:
    return {"samples": 64 if quick else SAMPLES, "epochs": 2, "points": points(quick)}


def warmup(cfg: dict) -> dict:
    return {**cfg, "samples": BATCH, "points": cfg["points"][:1]}


def epoch_gflop(samples: int, timesteps: int, units: int) -> float:
    return (
        training_flops(lstm_flops(timesteps, samples, FEATURES, units) + dense_flops(samples, units, 1)) / 1e9
    )


def _sweep(cfg: dict, fit_one) -> dict:
    """``fit_one(x, y, units) -> epoch seconds`` at every point; the result lists the points."""
    results = []
    for timesteps, units in cfg["points"]:
        x, y = regression_data({"samples": cfg["samples"], "timesteps": timesteps}, FEATURES)
        epoch_seconds = fit_one(x, y, timesteps, units)
        seconds = epoch_seconds[-1]
        results.append(
            {
                "timesteps": timesteps,
                "units": units,
                "seconds": seconds,
                "gflop_per_s": epoch_gflop(cfg["samples"], timesteps, units) / seconds,
            }
        )
    return {"value": sum(p["seconds"] for p in results), "points": results}


def run_lstmkit(cfg: dict, device: str) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    def fit_one(x, y, timesteps, units):
        model = Sequential([LSTM(units, input_shape=(timesteps, FEATURES)), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)[1]

    return _sweep(cfg, fit_one)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    def fit_one(x_np, y_np, timesteps, units):
        net = torch_lstm_regressor(FEATURES, units).to(device)
        x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
        return torch_fit(net, x, y, torch.nn.MSELoss(), BATCH, cfg["epochs"], device)[0]

    return _sweep(cfg, fit_one)


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    def fit_one(x, y, timesteps, units):
        keras.backend.clear_session()
        model = keras.Sequential(
            [keras.Input((timesteps, FEATURES)), keras.layers.LSTM(units), keras.layers.Dense(1)]
        )
        model.compile(optimizer="adam", loss="mse")
        return keras_fit(model, x, y, BATCH, cfg["epochs"])[1]

    return _sweep(cfg, fit_one)
