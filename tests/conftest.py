import numpy as np
import pytest
import torch

from lstmkit.utils import set_random_seed

# The tests' models are tiny: one thread is faster than two, and immune to other processes on a shared machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
