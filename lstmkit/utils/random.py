"""Seeding every random generator lstmkit uses."""

from __future__ import annotations

import random

import numpy as np
import torch

from lstmkit.utils.checks import check_int

__all__ = ["set_random_seed"]


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    After it, building and fitting the same model on the same data gives identical weights on the
    CPU. (On a GPU, cuDNN's recurrent kernels may still differ in the last bits between runs.)
    """
    seed = check_int(seed, "seed", 0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
