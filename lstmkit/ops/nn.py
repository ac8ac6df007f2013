"""``keras.ops``'s neural-network functions: activations, softmax, one-hot, top-k, normalisation.
Keras 3 semantics (e.g. ``hard_sigmoid`` is relu6(x + 3) / 6, ``leaky_relu``'s slope 0.2, ``gelu`` tanh-approximated
by default); each is an op (on symbolic tensors it becomes a node of a graph model)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit import backend
from lstmkit.ops.core import op
from lstmkit.ops.math import _torch_dtype, convert_to_tensor

__all__ = [
    "elu",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "moments",
    "normalize",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "top_k",
]


@op("relu")
def relu(x):
    return torch.relu(convert_to_tensor(x))


@op("relu6")
def relu6(x):
    return torch.clamp(convert_to_tensor(x), 0.0, 6.0)


@op("sigmoid")
def sigmoid(x):
    return torch.sigmoid(convert_to_tensor(x))


@op("hard_sigmoid")
def hard_sigmoid(x):
    return torch.clamp(convert_to_tensor(x) + 3.0, 0.0, 6.0) / 6.0


@op("silu")
def silu(x):
    return F.silu(convert_to_tensor(x))


swish = silu


@op("hard_silu")
def hard_silu(x):
    x = convert_to_tensor(x)
    return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


hard_swish = hard_silu


@op("softplus")
def softplus(x):
    return F.softplus(convert_to_tensor(x))


@op("softsign")
def softsign(x):
    return F.softsign(convert_to_tensor(x))


@op("log_sigmoid")
def log_sigmoid(x):
    return F.logsigmoid(convert_to_tensor(x))


@op("elu")
def elu(x, alpha=1.0):
    return F.elu(convert_to_tensor(x), alpha=alpha)


@op("selu")
def selu(x):
    return F.selu(convert_to_tensor(x))


@op("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(convert_to_tensor(x), negative_slope)


@op("gelu")
def gelu(x, approximate=True):
    return F.gelu(convert_to_tensor(x), approximate="tanh" if approximate else "none")


@op("softmax")
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (a tuple of axes is softmaxed as one)."""
    x = convert_to_tensor(x)
    if isinstance(axis, (list, tuple)):
        return torch.exp(x - torch.logsumexp(x, dim=tuple(axis), keepdim=True))
    return torch.softmax(x, dim=axis)


@op("log_softmax")
def log_softmax(x, axis=-1):
    x = convert_to_tensor(x)
    if isinstance(axis, (list, tuple)):
        return x - torch.logsumexp(x, dim=tuple(axis), keepdim=True)
    return torch.log_softmax(x, dim=axis)


@op("one_hot")
def one_hot(x, num_classes, axis=-1, dtype=None):
    """Integer classes as one-hot vectors of ``num_classes`` along ``axis``."""
    x = convert_to_tensor(x).long()
    encoded = F.one_hot(x, num_classes).to(_torch_dtype(dtype) if dtype else backend.float_dtype())
    return encoded if axis == -1 else encoded.movedim(-1, axis)


@op("top_k")
def top_k(x, k, sorted=True):
    """(values, indices) of the ``k`` largest entries along the last axis."""
    values, indices = torch.topk(convert_to_tensor(x), k, dim=-1, largest=True, sorted=sorted)
    return values, indices


@op("normalize")
def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis``."""
    x = convert_to_tensor(x)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    if order == 2:
        return x * torch.rsqrt(torch.clamp((x * x).sum(dim=axis, keepdim=True), min=epsilon * epsilon))
    return x / torch.clamp(torch.linalg.norm(x, ord=order, dim=axis, keepdim=True), min=epsilon)


@op("moments")
def moments(x, axes, keepdims=False):
    """(mean, variance) over ``axes``."""
    x = convert_to_tensor(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean = x.mean(dim=axes, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=axes, keepdim=keepdims)
    return (mean if keepdims else mean.squeeze(axes)), variance
