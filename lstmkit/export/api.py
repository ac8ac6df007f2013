"""``Model.export(filepath, format=...)``, Keras 3's method: the formats lstmkit writes, and the rest refused."""

from __future__ import annotations

import os

from lstmkit.utils.shapes import is_shape

__all__ = ["export_model"]

_OTHER_KERAS_FORMATS = ("tf_saved_model", "tflite", "litert", "openvino", "torch")


def export_model(model, filepath, format=None, verbose=None, input_signature=None, **kwargs):
    """Write ``model`` for serving. ``format='onnx'`` (also chosen by a ``.onnx`` file name) calls
    ``lstmkit.export.to_onnx`` with ``kwargs`` (``states``, ``opset_version``, ``dynamic_time``, ...).
    ``input_signature``: Keras's list of input specs (objects with a ``.shape`` including the batch axis,
    or such shape tuples), used when the model does not know its input shape."""
    from lstmkit.export.onnx import to_onnx

    if format is None:
        if os.fspath(filepath).lower().endswith(".onnx"):
            format = "onnx"
        else:
            raise ValueError(
                f"export() needs format='onnx' (the format lstmkit writes), or a file name ending in .onnx. "
                f"Received: filepath={os.fspath(filepath)!r}, format=None."
            )
    if format != "onnx":
        why = (
            " lstmkit runs on PyTorch, so it cannot write that format; export to ONNX (format='onnx'), which "
            "TensorFlow, OpenVINO and mobile runtimes can load."
            if format in _OTHER_KERAS_FORMATS
            else ""
        )
        raise ValueError(f"Unsupported export format {format!r}; lstmkit writes format='onnx'.{why}")
    if input_signature is not None:
        if "input_shape" in kwargs:
            raise ValueError("Give input_signature or input_shape, not both.")
        kwargs["input_shape"] = _shapes_from_signature(input_signature)
    return to_onnx(model, filepath, verbose=True if verbose is None else bool(verbose), **kwargs)


def _shapes_from_signature(signature) -> list[tuple]:
    """Per-sample shapes from Keras's input_signature: specs with ``.shape``, or full shape tuples."""
    items = [signature] if hasattr(signature, "shape") or is_shape(signature) else list(signature)
    shapes = []
    for item in items:
        shape = getattr(item, "shape", item)
        if not is_shape(shape):
            raise TypeError(
                "input_signature must list one spec per input: objects with a .shape (e.g. lstmkit.Input(...)) "
                f"or shape tuples with the batch axis first, e.g. (None, 10, 3). Received: {item!r}"
            )
        shapes.append(tuple(shape)[1:])
    return shapes
