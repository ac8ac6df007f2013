import numpy as np
import pytest

from lstmkit.utils import set_random_seed


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
