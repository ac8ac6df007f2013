"""Checks shared by the layer tests: gradcheck over a layer's parameters, config round trips."""

import numpy as np
import torch


def gradcheck_layer(layer, x, wrt_input=True, **call_kwargs):
    """torch.autograd.gradcheck of ``layer(x)`` with respect to every parameter (and ``x`` if float)."""
    names = [n for n, _ in layer.named_parameters()]
    assert names, "the layer has no parameters to check"
    weights = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    assert all(w.dtype == torch.float64 for w in weights)
    x = x.detach().clone().requires_grad_(wrt_input)

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x,), call_kwargs)

    return torch.autograd.gradcheck(run, (x,) + weights, eps=1e-6, atol=1e-5)


def round_trip(layer, x, rng=None, **call_kwargs):
    """from_config(get_config()) gives an equal config and, after set_weights, identical outputs."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone.ensure_built((None,) + tuple(x.shape[1:]))
    if rng is not None:
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    clone.set_weights(layer.get_weights())
    for a, b in zip(layer.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(a, b)
    layer.eval()
    clone.eval()
    np.testing.assert_array_equal(
        layer(x, **call_kwargs).detach().numpy(), clone(x, **call_kwargs).detach().numpy()
    )
    return clone
