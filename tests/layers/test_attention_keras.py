"""Attention, AdditiveAttention and MultiHeadAttention against outputs recorded from real Keras 3 (same inputs,
masks and weights): tests/layers/fixtures/{keras_attention.json, keras_attention.npz, make_keras_attention.py}.
Also Keras's weight names, order and parameter counts, and Keras's own model files of these layers."""

import json
import pathlib

import numpy as np
import pytest
import torch

import lstmkit.layers as L
from lstmkit.models import load_model

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
SPEC = json.loads((FIXTURES / "keras_attention.json").read_text())
ARRAYS = np.load(FIXTURES / "keras_attention.npz")


def run_case(case, query_mask_as_argument=False):
    name = case["name"]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    layer = getattr(L, case["class"])(**kwargs)
    tensors = {k: torch.tensor(ARRAYS[f"{name}/{k}"]) for k in case["inputs"]}
    call = dict(case["call"])
    if case["class"] == "MultiHeadAttention":
        for k in case["tensor_masks"]:
            mask = torch.tensor(ARRAYS[f"{name}/{k}_keras_mask"])
            if k == "query" and query_mask_as_argument:
                call["query_mask"] = mask
            else:
                tensors[k]._keras_mask = mask
        call.update({k: torch.tensor(ARRAYS[f"{name}/{k}"]) for k in case["masks"]})

        def run():
            return layer(tensors["query"], tensors["value"], key=tensors.get("key"), **call)
    else:
        if case["mask_list_length"]:
            masks = [None] * case["mask_list_length"]
            for i in case["masks"]:
                masks[i] = torch.tensor(ARRAYS[f"{name}/mask{i}"])
            call["mask"] = masks
        ordered = [tensors[k] for k in ("query", "value", "key") if k in tensors]

        def run():
            return layer(ordered, **call)

    run()
    layer.set_weights([ARRAYS[f"{name}/w{i}"] for i in range(case["weights"])])
    return layer, run()


@pytest.mark.parametrize("case", SPEC["cases"], ids=[c["name"] for c in SPEC["cases"]])
def test_attention_layers_match_keras(case):
    layer, out = run_case(case)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == case["outputs"]
    names = [w.name for w in layer.weights]  # Keras's paths below the layer: scale, query/kernel, ...
    assert len(names) == len(case["weight_names"])
    assert all(("/" + ours).endswith("/" + theirs) for ours, theirs in zip(names, case["weight_names"]))
    assert layer.count_params() == case["count_params"]
    for i, got in enumerate(outs):
        want = ARRAYS[f"{case['name']}/y{i}"]
        assert tuple(got.shape) == want.shape
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=1e-5)


def test_explicit_query_mask_equals_the_query_tensors_mask():
    """Keras 3 reads the query's mask only from the tensor; lstmkit also honours query_mask= (same result)."""
    case = next(c for c in SPEC["cases"] if c["name"] == "mha_input_masks")
    _, out = run_case(case, query_mask_as_argument=True)
    np.testing.assert_allclose(out.detach().numpy(), ARRAYS["mha_input_masks/y0"], rtol=0, atol=1e-5)
    assert out._keras_mask.tolist() == ARRAYS["mha_input_masks/query_keras_mask"].tolist()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_model_file_with_attention_layers_predicts_as_keras(suffix):
    model = load_model(FIXTURES / f"keras_attention_model{suffix}")
    assert {"Attention", "AdditiveAttention", "MultiHeadAttention"} <= {
        type(layer).__name__ for layer in model.layers
    }
    predictions = model.predict([ARRAYS["model/x0"], ARRAYS["model/x1"]], verbose=0)
    for got, i in zip(predictions, range(2)):
        np.testing.assert_allclose(got, ARRAYS[f"model/p{i}"], rtol=0, atol=1e-5)
