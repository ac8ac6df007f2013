"""Exporting models for serving: ``to_onnx(model, path)``, also reached as ``model.export(path, format='onnx')``.

Needs the optional packages onnx and onnxruntime: ``pip install 'lstmkit[onnx]'``.
"""

from lstmkit.export.onnx import OnnxExport, OnnxExportError, to_onnx

__all__ = ["OnnxExport", "OnnxExportError", "to_onnx"]
