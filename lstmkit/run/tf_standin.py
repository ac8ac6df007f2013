"""The ``tensorflow`` module that ``lstmkit run`` gives a Keras script: the few things such scripts touch.

Provided: ``tf.keras`` (lstmkit), ``tf.random.set_seed`` (seeds torch, as TF's seeds TensorFlow only),
``tf.config.list_physical_devices`` / ``list_logical_devices`` / ``experimental.set_memory_growth`` (PyTorch
allocates device memory as needed, which is what memory growth asks for), ``tf.constant`` /
``tf.convert_to_tensor`` (torch tensors, which lstmkit's fit/predict take), the dtypes, ``tf.test``'s
GPU queries, ``tf.get_logger`` and ``tf.__version__``. Any other ``tf.X`` raises an error that names it.
"""

from __future__ import annotations

import logging
import types
from collections import namedtuple

import torch

from lstmkit.utils.naming import closest

__all__ = ["TensorFlowStandInError", "missing_module", "tensorflow_module"]

# What a script most likely wanted from a missing tf.X, and what to do instead.
_ADVICE = {
    "data": "pass NumPy arrays, a generator or a keras.utils.PyDataset to fit() and predict()",
    "function": "remove the @tf.function decorator: lstmkit runs PyTorch eagerly",
    "GradientTape": "a custom training loop needs rewriting in PyTorch (loss.backward(), optimizer steps), or use "
    "model.fit / train_on_batch",
    "Variable": "keep state in NumPy or torch tensors, or in a layer's weights (add_weight)",
    "compat": "TensorFlow 1 code (tf.compat.v1, sessions, placeholders) cannot run on lstmkit",
    "Session": "TensorFlow 1 code (sessions, placeholders) cannot run on lstmkit",
    "saved_model": "save with model.save('model.keras') or export ONNX with model.export('model.onnx', format='onnx')",
    "lite": "export ONNX with model.export('model.onnx', format='onnx'), which mobile runtimes load",
    "summary": "use the keras.callbacks.TensorBoard callback",
    "distribute": "launch the script with torchrun for data-parallel training (see docs/distributed.md)",
}


class TensorFlowStandInError(AttributeError):
    """A ``tf.X`` that the stand-in does not provide (an AttributeError, so ``hasattr`` stays False)."""


def _message(qualified: str, provided) -> str:
    last = qualified.rsplit(".", 1)[-1]
    first = qualified.split(".")[1] if "." in qualified else qualified
    advice = _ADVICE.get(first) or _ADVICE.get(last)
    suggestions = closest(last, provided)
    text = (
        f"`lstmkit run` has no {qualified}: it runs Keras code on PyTorch, and its small TensorFlow stand-in "
        "offers only tf.keras, tf.random.set_seed, tf.config.list_physical_devices, "
        "tf.config.experimental.set_memory_growth, tf.constant, tf.convert_to_tensor, the dtypes (tf.float32, ...), "
        "tf.test.is_gpu_available, tf.get_logger and tf.__version__."
    )
    if advice:
        text += f" Instead: {advice}."
    elif suggestions:
        text += f" Did you mean {qualified.rsplit('.', 1)[0]}.{suggestions[0]}?"
    return text


class _Namespace(types.ModuleType):
    """A stand-in namespace: its own attributes, and a TensorFlowStandInError for any other."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        public = [n for n in vars(self) if not n.startswith("_")]
        raise TensorFlowStandInError(
            _message(f"{self.__name__.replace('tensorflow', 'tf', 1)}.{name}", public)
        )


def _namespace(name: str, **members) -> _Namespace:
    module = _Namespace(name)
    for key, value in members.items():
        setattr(module, key, value)
    return module


def missing_module(fullname: str) -> ModuleNotFoundError:
    """The error for ``import tensorflow.X`` (X not Keras). It has no ``name``, so that `from tensorflow
    import X` shows this message rather than Python's generic one."""
    return ModuleNotFoundError(_message(fullname.replace("tensorflow", "tf", 1), []))


# ---------------------------------------------------------------------- what the stand-in offers
PhysicalDevice = namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = namedtuple("LogicalDevice", ["name", "device_type"])

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "double": torch.float64,
    "half": torch.float16,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


def _devices(device_type, kind):
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    found = [kind("/physical_device:CPU:0", "CPU")] + [
        kind(f"/physical_device:GPU:{i}", "GPU") for i in range(gpus)
    ]
    if device_type is None:
        return found
    return [d for d in found if d.device_type == str(device_type).upper()]


def list_physical_devices(device_type=None):
    """TF's device list: CPU:0, then one GPU per CUDA device torch sees."""
    return _devices(device_type, PhysicalDevice)


def list_logical_devices(device_type=None):
    return [
        LogicalDevice(d.name.replace("physical_device", "device"), d.device_type)
        for d in _devices(device_type, PhysicalDevice)
    ]


def set_memory_growth(device, enable):
    """Accepted: PyTorch allocates GPU memory as it is needed, which is what memory growth asks TF to do."""
    if not isinstance(device, PhysicalDevice):
        raise TypeError(
            f"set_memory_growth expects a device from tf.config.list_physical_devices(); received {device!r}"
        )


def _dtype(dtype):
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = getattr(dtype, "name", dtype)
    if name not in _DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}. Use one of: {', '.join(_DTYPES)}.")
    return _DTYPES[name]


def constant(value, dtype=None, shape=None, name=None):
    """A torch tensor of ``value`` (python floats become float32, as in TF); ``shape`` fills or reshapes."""
    tensor = torch.as_tensor(value, dtype=_dtype(dtype))
    if tensor.dtype == torch.float64 and dtype is None and not hasattr(value, "dtype"):
        tensor = tensor.float()
    if shape is not None:
        shape = tuple(shape)
        tensor = tensor.expand(shape).clone() if tensor.numel() == 1 else tensor.reshape(shape)
    return tensor


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """A torch tensor of ``value`` (shares memory with a NumPy array where it can)."""
    tensor = torch.as_tensor(value, dtype=_dtype(dtype))
    hint = _dtype(dtype_hint)
    if dtype is None and hint is not None and tensor.dtype != hint and not hasattr(value, "dtype"):
        tensor = tensor.to(hint)
    return tensor


def is_gpu_available(cuda_only=False, min_cuda_compute_capability=None):
    if not torch.cuda.is_available():
        return False
    if min_cuda_compute_capability is None:
        return True
    return any(
        torch.cuda.get_device_capability(i) >= tuple(min_cuda_compute_capability)
        for i in range(torch.cuda.device_count())
    )


def gpu_device_name():
    return "/device:GPU:0" if torch.cuda.is_available() else ""


def tensorflow_module() -> _Namespace:
    """A fresh stand-in ``tensorflow`` module."""
    import lstmkit

    def set_seed(seed):
        """TF's global seed: here torch's, which drives lstmkit's initializers, dropout and shuffling."""
        torch.manual_seed(int(seed))

    module = _namespace(
        "tensorflow",
        __version__=f"2.16.0+lstmkit.{lstmkit.__version__}",
        keras=lstmkit,
        random=_namespace("tensorflow.random", set_seed=set_seed),
        config=_namespace(
            "tensorflow.config",
            list_physical_devices=list_physical_devices,
            list_logical_devices=list_logical_devices,
            experimental=_namespace(
                "tensorflow.config.experimental",
                list_physical_devices=list_physical_devices,
                set_memory_growth=set_memory_growth,
            ),
        ),
        test=_namespace(
            "tensorflow.test",
            is_gpu_available=is_gpu_available,
            gpu_device_name=gpu_device_name,
            is_built_with_cuda=lambda: torch.version.cuda is not None,
        ),
        constant=constant,
        convert_to_tensor=convert_to_tensor,
        get_logger=lambda: logging.getLogger("tensorflow"),
        dtypes=_namespace("tensorflow.dtypes", **_DTYPES),
        **_DTYPES,
    )
    return module
