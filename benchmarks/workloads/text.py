"""text: a sentiment-style classifier on padded token sequences, timed per epoch.

5000 sequences of 200 token ids (random lengths 50..200 of random tokens 1..4999, pre-padded with 0 as
``pad_sequences`` does; no masking, as in the Keras tutorials) and random 0/1 labels ->
Embedding(5000, 32) -> LSTM(100) -> Dense(1, sigmoid), Adam, binary cross-entropy, batch 64.
The plain PyTorch version ends in a linear layer with ``BCEWithLogitsLoss`` (the same model and loss,
written the numerically stable way a PyTorch user does).
"""

from __future__ import annotations

import numpy as np

from workloads._common import (
    dense_flops,
    epoch_result,
    keras_fit,
    lstm_flops,
    lstmkit_fit,
    small_warmup,
    torch_fit,
    training_flops,
)

NAME = "text"
TITLE = "5000 × 200 tokens → Embedding(5000, 32) → LSTM(100) → Dense(1, sigmoid), batch 64"
MEASURE = "s/epoch"
KIND = "time"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = False
VOCAB, EMBED, UNITS, BATCH = 5000, 32, 100, 64
FLOP_FORMULA = "per epoch 3 × [2·T·N·4u·(e+u) + 2·N·u] (embedding e=32 is a lookup, LSTM u=100, Dense u→1)"


def config(quick: bool) -> dict:
    if quick:
        return {"samples": 256, "timesteps": 20, "epochs": 2}
    return {"samples": 5000, "timesteps": 200, "epochs": 2}


def warmup(cfg: dict) -> dict:
    return small_warmup(cfg, BATCH)


def data(cfg: dict):
    n, t = cfg["samples"], cfg["timesteps"]
    rng = np.random.default_rng(0)
    lengths = rng.integers(max(1, t // 4), t + 1, size=n)
    tokens = rng.integers(1, VOCAB, size=(n, t), dtype=np.int32)
    tokens[np.arange(t)[None, :] < (t - lengths)[:, None]] = 0  # pre-padding
    labels = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    return tokens, labels


def epoch_gflop(cfg: dict) -> float:
    n, t = cfg["samples"], cfg["timesteps"]
    return training_flops(lstm_flops(t, n, EMBED, UNITS) + dense_flops(n, UNITS, 1)) / 1e9


def _result(cfg: dict, epoch_seconds, loss) -> dict:
    return epoch_result(epoch_seconds, loss, epoch_gflop(cfg))


def run_lstmkit(cfg: dict, device: str) -> dict:
    from lstmkit.layers import LSTM, Dense, Embedding
    from lstmkit.models import Sequential

    x, y = data(cfg)
    model = Sequential([Embedding(VOCAB, EMBED), LSTM(UNITS), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    _, epoch_seconds, loss = lstmkit_fit(model, x, y, BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, 1)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embedding(tokens))
            return self.dense(h[-1])  # logits; the sigmoid is inside the loss

    x_np, y_np = data(cfg)
    net = Net().to(device)
    x, y = torch.from_numpy(x_np).long().to(device), torch.from_numpy(y_np).to(device)
    epoch_seconds, loss = torch_fit(net, x, y, torch.nn.BCEWithLogitsLoss(), BATCH, cfg["epochs"], device)
    return _result(cfg, epoch_seconds, loss)


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x, y = data(cfg)
    model = keras.Sequential(
        [
            keras.Input((cfg["timesteps"],), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            keras.layers.LSTM(UNITS),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    _, epoch_seconds, loss = keras_fit(model, x, y, BATCH, cfg["epochs"])
    return _result(cfg, epoch_seconds, loss)
