"""The frame, ConvLSTM and small layers against outputs recorded from real Keras 3 (same inputs and weights).

The fixture and the script that made it: tests/layers/fixtures/{keras_layers2.json, keras_layers2.npz,
make_keras_layers2.py}. Also checks that each layer has Keras's parameter count.
"""

import json
import pathlib

import numpy as np
import pytest
import torch

import lstmkit.layers as L

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
SPEC = json.loads((FIXTURES / "keras_layers2.json").read_text())
ARRAYS = np.load(FIXTURES / "keras_layers2.npz")


@pytest.mark.parametrize("case", SPEC["cases"], ids=[c["name"] for c in SPEC["cases"]])
def test_layer_matches_keras(case):
    name = case["name"]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    layer = getattr(L, case["class"])(**kwargs)
    x = torch.tensor(ARRAYS[f"{name}/x"])
    layer.ensure_built((None,) + tuple(x.shape[1:]))
    layer.set_weights([ARRAYS[f"{name}/w{i}"] for i in range(case["weights"])])
    assert layer.count_params() == case["count_params"]
    call_kwargs = {"mask": torch.tensor(ARRAYS[f"{name}/mask"])} if case["mask"] else {}
    layer.eval()
    out = layer(x, **call_kwargs)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == case["outputs"]
    expected_shapes = layer.compute_output_shape((None,) + tuple(x.shape[1:]))
    expected_shapes = expected_shapes if isinstance(expected_shapes, list) else [expected_shapes]
    for i, (got, shape) in enumerate(zip(outs, expected_shapes)):
        want = ARRAYS[f"{name}/y{i}"]
        assert tuple(got.shape) == want.shape
        assert shape[1:] == want.shape[1:]
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=1e-5)
