"""medium-generic: ``medium`` with LSTM(64, activation='relu').

No fused kernel computes a relu LSTM, so this measures each implementation's step loop: lstmkit's
generic path, a hand-written cell loop in plain PyTorch, Keras's own loop (the generic path there too).
"""

from __future__ import annotations

from workloads import medium

NAME = "medium-generic"
TITLE = "medium with LSTM(64, activation='relu'): the step-loop (generic) path"
MEASURE = medium.MEASURE
KIND = medium.KIND
IMPLEMENTATIONS = ("lstmkit", "lstmkit-jit", "torch", "keras")
ISOLATED = False
FLOP_FORMULA = medium.FLOP_FORMULA
ACTIVATION = "relu"

config = medium.config
warmup = medium.warmup


def run_lstmkit(cfg: dict, device: str) -> dict:
    return medium.run_lstmkit(cfg, device, activation=ACTIVATION)


def run_lstmkit_jit(cfg: dict, device: str) -> dict:
    return medium.run_lstmkit(cfg, device, activation=ACTIVATION, jit=True)


def run_torch(cfg: dict, device: str) -> dict:
    return medium.run_torch(cfg, device, activation=ACTIVATION)


def run_keras(cfg: dict, device: str) -> dict:
    return medium.run_keras(cfg, device, activation=ACTIVATION)
