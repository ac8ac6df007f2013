"""Forecast a noisy sine wave with an LSTM, data-parallel over several processes.

    torchrun --nproc_per_node=2 examples/distributed_forecast.py      # two processes (gloo on the CPU)
    python examples/distributed_forecast.py                           # the same script in one process

Nothing in the model code is distributed: under torchrun, ``fit``/``evaluate``/``predict`` (with their
default ``distributed='auto'``) give each process its share of every epoch, keep the weights equal, and
report loss and metrics over all processes. ``batch_size`` is per process, so with 2 processes a step
uses 2 x 32 samples. Only rank 0 prints progress and writes the checkpoint and the CSV log
(``--out DIR``, default: a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from lstmkit.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint
from lstmkit.distributed import rank, world_size
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential
from lstmkit.utils import make_windows, set_random_seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="directory for the checkpoint and the CSV log")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    out = args.out or os.path.join(tempfile.gettempdir(), "lstmkit-distributed-forecast")

    # Every process builds the same data (same seed); lstmkit gives each its share. The model's initial
    # weights may differ between processes: fit starts all of them from rank 0's.
    set_random_seed(7)
    steps = np.arange(3000)
    series = np.sin(steps * 0.05) + 0.1 * np.random.default_rng(0).normal(size=steps.shape)
    X, y = make_windows(series.astype("float32"), lookback=24)  # X: (2977, 24, 1), y: (2977, 1)
    X_train, y_train, X_test, y_test = X[:2400], y[:2400], X[2400:], y[2400:]

    model = Sequential([LSTM(32, input_shape=(24, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(
        X_train,
        y_train,
        epochs=args.epochs,
        batch_size=32,
        validation_split=0.1,
        verbose=2,
        callbacks=[
            ModelCheckpoint(os.path.join(out, "best.keras"), monitor="val_loss", save_best_only=True),
            CSVLogger(os.path.join(out, "training.csv")),
            EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        ],
    )
    loss, mae = model.evaluate(X_test, y_test, verbose=0)  # over all processes' shares
    forecast = model.predict(X_test, verbose=0)  # every sample, in order, on every rank

    if rank() == 0:
        first = ", ".join(f"{p:.3f} (true {t:.3f})" for p, t in zip(forecast[:3, 0], y_test[:3, 0]))
        print(
            f"{world_size()} process(es): final val_loss {history.history['val_loss'][-1]:.4f}, test loss "
            f"{loss:.4f}, test mae {mae:.4f}; forecast of shape {forecast.shape}: {first}, ...; checkpoint "
            f"and CSV log in {out}"
        )


if __name__ == "__main__":
    main()
