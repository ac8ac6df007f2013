"""Checking an exported ONNX model with onnxruntime against lstmkit's own outputs."""

from __future__ import annotations

import numpy as np

__all__ = ["OnnxExportError", "require_onnx_packages", "verify_onnx"]


class OnnxExportError(ValueError):
    """The model cannot be exported, or the exported file does not compute what the model computes."""


def require_onnx_packages():
    """The onnxruntime module once onnx and onnxruntime are both importable, else an ImportError saying
    how to install them."""
    try:
        import onnx  # noqa: F401 - the exporter edits the written graph with it
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs the packages onnx and onnxruntime (onnxruntime checks the exported file); "
            f"{error}. Install them with: pip install 'lstmkit[onnx]'"
        ) from None
    return onnxruntime


def session(onnx_bytes: bytes):
    """An onnxruntime CPU session for the model in ``onnx_bytes`` (runtime warnings silenced)."""
    onnxruntime = require_onnx_packages()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def verify_onnx(onnx_bytes: bytes, cases, atol: float, rtol: float, advice: str = ""):
    """Run every case ``(feeds, expected outputs, (batch, timesteps))``; returns (shapes checked, max |diff|).

    Raises OnnxExportError on a runtime error, a shape difference or a value outside
    ``atol + rtol * |expected|``, naming the output and the shape, followed by ``advice``."""
    try:
        runtime = session(onnx_bytes)
    except Exception as error:  # noqa: BLE001 - onnxruntime's error types derive from Exception only
        raise OnnxExportError(f"onnxruntime could not load the exported model: {error}{advice}") from None
    names = [o.name for o in runtime.get_outputs()]
    checked, worst = [], 0.0
    for feeds, expected, shape in cases:
        try:
            actual = runtime.run(None, feeds)
        except Exception as error:  # noqa: BLE001 - onnxruntime's error types derive from Exception only
            raise OnnxExportError(
                f"onnxruntime could not run the exported model at batch x timesteps {shape[0]}x{shape[1]}: "
                f"{error}{advice}"
            ) from None
        for name, want, got in zip(names, expected, actual):
            if tuple(want.shape) != tuple(got.shape):
                raise OnnxExportError(
                    f"The exported model's output '{name}' has shape {tuple(got.shape)} at batch x timesteps "
                    f"{shape[0]}x{shape[1]}; lstmkit's has {tuple(want.shape)}.{advice}"
                )
            difference = np.abs(got.astype(np.float64) - want.astype(np.float64))
            allowed = atol + rtol * np.abs(want.astype(np.float64))
            if difference.size and not np.all(difference <= allowed):
                raise OnnxExportError(
                    f"The exported model's output '{name}' differs from lstmkit's at batch x timesteps "
                    f"{shape[0]}x{shape[1]}: max |diff| {difference.max():.3g} > {atol:g} + {rtol:g}*|expected|."
                    f"{advice}"
                )
            if difference.size:
                worst = max(worst, float(difference.max()))
        checked.append(shape)
    return checked, worst
