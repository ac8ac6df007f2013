"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

Graph models (``keras.Model(inputs, outputs)``) list their Input layers too and add Keras's "Connected to"
column: for every call of a layer, the tensors it took, as ``layer[call][output]``. Recurrent layers also
say which kernel runs them ("fused": PyTorch's fused kernel, cuDNN on a GPU; "generic": the step loop).
Cells wider than their column wrap onto more lines, as in Keras. Box-drawing characters fall back to ASCII
where the output stream cannot encode them.
"""

from __future__ import annotations

import sys
import textwrap

from lstmkit.training.progress import can_encode
from lstmkit.utils.shapes import format_shape

__all__ = ["summarize"]

_UNICODE = {"top": "┏┳┓━", "head": "┃", "under_head": "┡╇┩━", "row": "│", "between": "├┼┤─", "bottom": "└┴┘─"}
_ASCII = {
    "top": "++++-",
    "head": "|",
    "under_head": "++++=",
    "row": "|",
    "between": "++++-",
    "bottom": "++++-",
}


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def _rule(chars, widths) -> str:
    left, middle, right, fill = chars[0], chars[1], chars[2], chars[-1]
    return left + middle.join(fill * (w + 2) for w in widths) + right


def _lines(cell, width: int) -> list[str]:
    """A cell's text in lines of at most ``width``: a list of entries one per line, long text wrapped."""
    entries = cell if isinstance(cell, list) else [str(cell)]
    lines = []
    for entry in entries:
        lines += textwrap.wrap(entry, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines or [""]


def _rows(bar, cells, widths, right_align) -> list[str]:
    columns = [_lines(cell, width) for cell, width in zip(cells, widths)]
    height = max(len(c) for c in columns)
    out = []
    for i in range(height):
        parts = []
        for lines, width, right in zip(columns, widths, right_align):
            text = lines[i] if i < len(lines) else ""
            parts.append(f" {text:>{width}} " if right else f" {text:<{width}} ")
        out.append(bar + bar.join(parts) + bar)
    return out


def _shape_text(shape) -> str:
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return format_shape(shape)


def _output_shape(layer) -> str:
    if not layer.built:
        return "?"
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError, TypeError):
        return "?"
    if isinstance(shape, dict):
        shape = list(shape.values())
    return _shape_text(shape)


def _connections(model, layer) -> list[str]:
    """'-' for an input; else every tensor each of the layer's calls in this model took."""
    nodes = [node for node in layer._inbound_nodes if node in model.graph.node_set]
    entries = []
    for node in nodes:
        for tensor in node.input_tensors:
            source, node_index, position = tensor._keras_history
            entries.append(f"{source.name}[{model.graph.own_call_index(source, node_index)}][{position}]")
    if not entries:
        return ["-"]
    return [entry + ("," if i < len(entries) - 1 else "") for i, entry in enumerate(entries)]


def summarize(model, line_length=None, print_fn=None, show_trainable=False) -> None:
    out = print_fn or print
    chars = _UNICODE if print_fn is not None or can_encode(sys.stdout, "┏━│") else _ASCII
    graph = getattr(model, "graph", None)

    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        path = getattr(layer, "execution_path", None)
        if layer.built and path is not None:
            kind = f"{kind}, {path()}"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{layer.name} ({kind})", _output_shape(layer), params]
        if graph is not None:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)

    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if graph is not None else [])
    widths = [19, 17, 10, 17] if graph is not None else [31, 22, 13]
    right = [False, False, True, False, False]
    if show_trainable:
        headers.append("Trainable")
        widths.append(9)
    if line_length:
        scale = max(0.5, (line_length - 3 * len(widths) - 1) / sum(widths))
        widths = [max(8, int(w * scale)) for w in widths]
    if rows:
        widths[0] = max(widths[0], *(len(r[0]) for r in rows))

    out(f'Model: "{model.name}"')
    out(_rule(chars["top"], widths))
    for line in _rows(chars["head"], headers, widths, right):
        out(line)
    out(_rule(chars["under_head"], widths))
    for i, row in enumerate(rows):
        for line in _rows(chars["row"], row, widths, right):
            out(line)
        if i < len(rows) - 1:
            out(_rule(chars["between"], widths))
    out(_rule(chars["bottom"], widths))

    built_layers = [layer for layer in model.layers if layer.built]
    total = sum(layer.count_params() for layer in built_layers)
    trainable = (
        sum(w.size for layer in built_layers for w in layer.trainable_weights) if model.trainable else 0
    )
    itemsize = next((p.element_size() for p in model.parameters()), 4)
    out(f" Total params: {total:,} ({_human_bytes(total * itemsize)})")
    out(f" Trainable params: {trainable:,} ({_human_bytes(trainable * itemsize)})")
    out(f" Non-trainable params: {total - trainable:,} ({_human_bytes((total - trainable) * itemsize)})")
