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


def _next_frame(L):
    return [
        L.ConvLSTM2D(
            8, (5, 5), padding="same", return_sequences=True, activation="relu", input_shape=(None, 16, 16, 1)
        ),
        L.BatchNormalization(),
        L.ConvLSTM2D(8, (3, 3), padding="same", return_sequences=True, activation="relu"),
        L.BatchNormalization(),
        L.ConvLSTM2D(8, (1, 1), padding="same", return_sequences=True, activation="relu"),
        L.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same"),
    ]


def _cnn_lstm(L):
    return [
        L.TimeDistributed(L.Conv2D(8, 3, activation="relu"), input_shape=(5, 8, 8, 1)),
        L.TimeDistributed(L.MaxPooling2D()),
        L.TimeDistributed(L.Flatten()),
        L.LSTM(16),
        L.Dense(4, activation="softmax"),
    ]


@pytest.mark.parametrize("name,make", [("next_frame", _next_frame), ("cnn_lstm", _cnn_lstm)])
def test_model_summary_has_keras_parameter_counts_and_shapes(name, make):
    from lstmkit.models import Sequential

    model = Sequential(make(L))
    model.build()
    expected = SPEC["models"][name]
    assert [layer.count_params() for layer in model.layers] == [count for count, _ in expected]
    assert [list(layer.output_shape) for layer in model.layers] == [shape for _, shape in expected]
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Total params: {sum(count for count, _ in expected):,}" in "\n".join(lines)


@pytest.mark.parametrize("filename", ["frames_model.keras", "frames_model.h5"])
def test_keras_model_file_of_these_layers_predicts_as_keras(filename):
    pytest.importorskip("h5py")
    from lstmkit.models import load_model

    model = load_model(FIXTURES / filename)
    assert [type(layer).__name__ for layer in model.layers][2:4] == ["ConvLSTM2D", "ConvLSTM2D"]
    got = model.predict(ARRAYS["frames_model/x"], verbose=0)
    np.testing.assert_allclose(got, ARRAYS["frames_model/y"], rtol=0, atol=1e-6)
