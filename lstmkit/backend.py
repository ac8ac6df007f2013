"""Where lstmkit computes: the torch device and the floating-point dtype.

The device is chosen once, the first time it is needed: the ``LSTMKIT_DEVICE`` environment
variable if set, else CUDA when available, else the CPU. ``set_device`` overrides it for the
rest of the process (models move there on their next ``fit``/``evaluate``/``predict``).
"""

from __future__ import annotations

import os

import torch

__all__ = [
    "device",
    "epsilon",
    "float_dtype",
    "floatx",
    "is_main_process",
    "set_device",
    "set_epsilon",
    "set_floatx",
]

DEVICE_ENV_VAR = "LSTMKIT_DEVICE"

_device: torch.device | None = None
_float_dtype = torch.float32
_EPSILON = 1e-7  # Keras's fuzz factor (keras.backend.epsilon()).

_FLOAT_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def _parse_device(spec, source: str) -> torch.device:
    try:
        dev = torch.device(spec)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"Unknown device {spec!r} (from {source}). Expected a torch device string such as "
            "'cpu', 'cuda' or 'cuda:1'."
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"Device {spec!r} (from {source}) was requested but CUDA is not available on this "
            "machine. Use 'cpu', or install a CUDA build of torch."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"Device {spec!r} (from {source}) does not exist: this machine has "
            f"{torch.cuda.device_count()} CUDA device(s)."
        )
    return dev


def device() -> torch.device:
    """The torch device models compute on."""
    global _device
    if _device is None:
        env = os.environ.get(DEVICE_ENV_VAR)
        if env:
            _device = _parse_device(env, f"the {DEVICE_ENV_VAR} environment variable")
        elif torch.cuda.is_available():
            _device = torch.device("cuda", torch.cuda.current_device())
        else:
            _device = torch.device("cpu")
    return _device


def set_device(spec) -> torch.device:
    """Compute on ``spec`` ('cpu', 'cuda', 'cuda:1', or a ``torch.device``) from now on."""
    global _device
    _device = _parse_device(spec, "set_device()")
    return _device


def floatx() -> str:
    """The name of the default float dtype ('float32' unless changed by ``set_floatx``)."""
    return str(_float_dtype).replace("torch.", "")


def float_dtype() -> torch.dtype:
    """The default float dtype as a ``torch.dtype``."""
    return _float_dtype


def set_floatx(name: str) -> None:
    """Set the float dtype of layers built from now on: 'float16', 'bfloat16', 'float32', 'float64'."""
    global _float_dtype
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"Unknown float dtype {name!r}. Expected one of {sorted(_FLOAT_DTYPES)}.")
    _float_dtype = _FLOAT_DTYPES[name]


def is_main_process() -> bool:
    """False on every rank but 0 of an initialised torch.distributed job: only the main process prints
    progress and writes files (checkpoints, CSV logs, TensorBoard events)."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)


def epsilon() -> float:
    """The small constant Keras adds to avoid division by zero and log(0): 1e-7."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Change the fuzz factor ``epsilon()`` (Keras's ``K.set_epsilon``)."""
    global _EPSILON
    _EPSILON = float(value)


def backend() -> str:
    """The engine's name, as ``keras.backend.backend()`` reports it."""
    return "torch"


def __getattr__(name):
    """Keras 2's backend functions (``K.mean``, ``K.dot``, ...), served from lstmkit/ops/keras2.py, which is
    imported only when one is asked for (it needs the layers, which need this module)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from lstmkit.ops import keras2
    from lstmkit.utils.naming import closest

    if name in keras2.__all__:
        return getattr(keras2, name)
    hits = closest(name, keras2.__all__ + __all__)
    hint = f" Did you mean {' or '.join(f'K.{h}' for h in hits)}?" if hits else ""
    raise AttributeError(
        f"lstmkit.backend has no function {name!r}.{hint} It offers Keras 2's common backend functions; for "
        "others use lstmkit.ops or torch inside a custom layer."
    )
