import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These tests train tiny models: torch's second intra-op thread only adds spin-waiting, which on a
    busy 2-core machine made them several times slower. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
