"""The states of every random generator that training draws from, captured and restored exactly.

What draws random numbers in ``fit``: torch's global generator (the shuffle order of arrays and
Sequences, dropout and recurrent-dropout masks of layers without a seed, GaussianNoise), the generators
of seeded layers (``Dropout(seed=...)``, ``LSTM(seed=...)``: one per device, made on first use and kept
in a dict attribute of the layer), and, in user code such as a Sequence's ``on_epoch_end``, NumPy's and
Python's global generators. ``capture(model)`` returns all of them; ``restore(model, state)`` puts them
back, creating a seeded layer's generator if this process has not used it yet. CUDA generators are
included when CUDA is initialized.

``pack``/``unpack`` turn a state into a JSON-able document plus byte arrays for a model file.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["capture", "pack", "restore", "unpack"]


def _layer_generators(model):
    """(key, dict holding it, dict key, generator) for every generator kept by a module of ``model``."""
    found = []
    for path, module in model.named_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, dict):
                for device, generator in value.items():
                    if isinstance(generator, torch.Generator):
                        found.append((f"{path}|{attribute}|{device}", value, device, generator))
    return found


def capture(model) -> dict:
    state = {
        "torch": torch.get_rng_state().clone(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "layers": {key: generator.get_state().clone() for key, _, _, generator in _layer_generators(model)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return state


def restore(model, state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    existing = {key: generator for key, _, _, generator in _layer_generators(model)}
    modules = dict(model.named_modules())
    for key, value in state["layers"].items():
        generator = existing.get(key)
        if generator is None:  # not used yet in this process: make it as the layer would, then set it
            path, attribute, device = key.split("|")
            holder = getattr(modules.get(path), attribute, None)
            if not isinstance(holder, dict):
                raise ValueError(
                    f"the backup holds a random generator for '{path}.{attribute}', which this model lacks"
                )
            generator = holder[torch.device(device)] = torch.Generator(device=device)
        generator.set_state(value)


def pack(state: dict) -> tuple[dict, dict]:
    """(JSON document, {name: uint8 array}) for ``state``."""
    arrays = {"torch": state["torch"].numpy()}
    arrays.update({f"cuda{i}": s.numpy() for i, s in enumerate(state.get("cuda", []))})
    names = {}
    for i, (key, value) in enumerate(state["layers"].items()):
        arrays[f"layer{i}"] = value.numpy()
        names[f"layer{i}"] = key
    kind, keys, position, has_gauss, cached = state["numpy"]
    arrays["numpy"] = np.asarray(keys, dtype=np.uint32)
    version, internal, gauss_next = state["python"]
    document = {
        "numpy": {
            "kind": kind,
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "layers": names,
        "cuda": len(state.get("cuda", [])),
    }
    return document, arrays


def unpack(document: dict, arrays: dict) -> dict:
    numpy_state = document["numpy"]
    python_state = document["python"]
    return {
        "torch": torch.from_numpy(arrays["torch"].astype(np.uint8)),
        "cuda": [torch.from_numpy(arrays[f"cuda{i}"].astype(np.uint8)) for i in range(document["cuda"])],
        "numpy": (
            numpy_state["kind"],
            arrays["numpy"].astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        ),
        "python": (python_state["version"], tuple(python_state["internal"]), python_state["gauss_next"]),
        "layers": {
            key: torch.from_numpy(arrays[name].astype(np.uint8)) for name, key in document["layers"].items()
        },
    }
