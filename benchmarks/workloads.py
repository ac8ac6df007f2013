"""Benchmark workloads, each written three ways: lstmkit, a hand-written plain PyTorch loop, and Keras.

Every function builds its model and data, then times only the training (or prediction) it is about,
and returns ``{"seconds": ..., **extras}``. Keras versions import keras lazily; they run in whatever
interpreter has it (see run.py).
"""

from __future__ import annotations

import time

import numpy as np


def seed_data():
    """The five-step tutorial's worked example: 0.0 .. 0.9, each value predicting the next."""
    sequence = np.arange(10, dtype="float32") / 10.0
    return sequence[:-1].reshape(9, 1, 1), sequence[1:].reshape(9, 1)


SEED_EPOCHS = 1000


# ----------------------------------------------------------------------------- seed
def seed_lstmkit():
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    X, y = seed_data()
    model = Sequential([LSTM(10, input_shape=(1, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    start = time.perf_counter()
    model.fit(X, y, epochs=SEED_EPOCHS, batch_size=len(X), verbose=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "loss": model.evaluate(X, y, verbose=0)}


def seed_torch():
    import torch

    X, y = (torch.from_numpy(a) for a in seed_data())

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(1, 10, batch_first=True)
            self.dense = torch.nn.Linear(10, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.dense(out[:, -1])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.MSELoss()
    start = time.perf_counter()
    for _ in range(SEED_EPOCHS):
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return {"seconds": seconds, "loss": float(loss_fn(net(X), y))}


def seed_keras():
    import keras

    X, y = seed_data()
    model = keras.Sequential([keras.Input((1, 1)), keras.layers.LSTM(10), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    start = time.perf_counter()
    model.fit(X, y, epochs=SEED_EPOCHS, batch_size=len(X), verbose=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "loss": float(model.evaluate(X, y, verbose=0))}


WORKLOADS = {
    "seed": {
        "what": f"tutorial example, fit {SEED_EPOCHS} epochs, batch 9",
        "lstmkit": seed_lstmkit, "torch": seed_torch, "keras": seed_keras,
    },
}
