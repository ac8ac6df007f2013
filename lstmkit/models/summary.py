"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

Recurrent layers also say which kernel runs them ("fused": PyTorch's fused kernel, cuDNN on a GPU;
"generic": the step loop). Box-drawing characters fall back to ASCII where the output stream cannot
encode them.
"""

from __future__ import annotations

import sys

from lstmkit.layers.base import format_shape
from lstmkit.training.progress import can_encode

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


def _row(bar, cells, widths, right_align) -> str:
    parts = []
    for cell, width, right in zip(cells, widths, right_align):
        text = str(cell)
        if len(text) > width:
            text = text[: width - 1] + "…"
        parts.append(f" {text:>{width}} " if right else f" {text:<{width}} ")
    return bar + bar.join(parts) + bar


def summarize(model, line_length=None, print_fn=None, show_trainable=False) -> None:
    out = print_fn or print
    chars = _UNICODE if print_fn is not None or can_encode(sys.stdout, "┏━│") else _ASCII

    rows = []
    built = model.built
    for layer in model.layers:
        kind = type(layer).__name__
        path = getattr(layer, "execution_path", None)
        if built and path is not None:
            kind = f"{kind}, {path()}"
        try:
            shape = format_shape(layer.output_shape) if layer.built else "?"
        except (AttributeError, ValueError):
            shape = "?"
        if isinstance(getattr(layer, "output_shape", None), list) and layer.built:
            shape = ", ".join(format_shape(s) for s in layer.output_shape)
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{layer.name} ({kind})", shape, params]
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)

    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Trainable"] if show_trainable else [])
    widths = [31, 22, 13] + ([9] if show_trainable else [])
    if line_length:
        scale = max(0.5, (line_length - 3 * len(widths) - 1) / sum(widths))
        widths = [max(8, int(w * scale)) for w in widths]
    widths[0] = max(widths[0], *(len(r[0]) for r in rows)) if rows else widths[0]
    right = [False, False, True, False]

    out(f'Model: "{model.name}"')
    out(_rule(chars["top"], widths))
    out(_row(chars["head"], headers, widths, right))
    out(_rule(chars["under_head"], widths))
    for i, row in enumerate(rows):
        out(_row(chars["row"], row, widths, right))
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
