"""``plot_history``: training curves from a ``History`` (needs matplotlib: ``pip install lstmkit[plot]``)."""

from __future__ import annotations

from collections.abc import Mapping

from lstmkit.utils.naming import unknown_name_error

__all__ = ["plot_history", "require_matplotlib"]


def require_matplotlib(what: str):
    """matplotlib.pyplot, or an ImportError saying that ``what`` needs it and how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            f"{what} needs matplotlib. Install it with `pip install matplotlib` (or `pip install lstmkit[plot]`)."
        ) from None
    return plt


# Backends that draw to files only (plt.show() would just warn) or that display figures by themselves.
_NO_SHOW_BACKENDS = {
    "agg",
    "cairo",
    "pdf",
    "pgf",
    "ps",
    "svg",
    "template",
    "module://matplotlib_inline.backend_inline",
    "module://ipykernel.pylab.backend_inline",
}


def _history_dict(history) -> dict:
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            "plot_history needs the History that fit returns (history = model.fit(...)) or its .history dict "
            f"({{'loss': [...], 'val_loss': [...]}}). Received: {type(history).__name__}."
        )
    logs = {str(name): list(values) for name, values in logs.items()}
    if not logs or not any(logs.values()):
        raise ValueError(
            "plot_history: the history has no recorded epochs; run model.fit(...) for an epoch first."
        )
    return logs


def _metric_names(logs: dict, metrics) -> list[str]:
    """The metrics to plot, each without its ``val_`` prefix, in the history's order."""
    if metrics is None:
        names = [k for k in logs if not (k.startswith("val_") and k[4:] in logs)]
        return names
    if isinstance(metrics, str):
        metrics = [metrics]
    names = []
    for name in metrics:
        if name not in logs:
            raise unknown_name_error("metric", name, logs.keys())
        if name.startswith("val_") and name[4:] in logs:
            name = name[4:]
        if name not in names:
            names.append(name)
    return names


def _epochs(count: int, total: int) -> list[int]:
    """1-based epochs of ``count`` values recorded over ``total`` epochs (validation may run every k-th)."""
    if count and count < total and total % count == 0:
        every = total // count
        return [every * (i + 1) for i in range(count)]
    return list(range(1, count + 1))


def plot_history(history, metrics=None, path=None, show=None):
    """Plot each metric per epoch, with its ``val_`` counterpart, one subplot per metric.

    Args:
        history: the ``History`` returned by ``fit``, or its ``.history`` dict.
        metrics: a name or list of names (e.g. 'loss', ['loss', 'accuracy']); None plots every recorded
            metric. ``val_`` curves are added automatically.
        path: if given, the figure is saved there (format from the extension, e.g. 'history.png').
        show: call ``matplotlib.pyplot.show()``. None: only when no ``path`` is given and the backend is an
            interactive window (not in notebooks, which display figures by themselves, or headless runs).

    Returns:
        The matplotlib Figure (close it with ``plt.close(fig)`` when drawing many).
    """
    plt = require_matplotlib("plot_history")
    import matplotlib

    logs = _history_dict(history)
    names = _metric_names(logs, metrics)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        train = logs.get(name, [])
        total = len(train)
        if train:
            ax.plot(range(1, total + 1), train, label="validation" if name.startswith("val_") else "training")
        val = logs.get("val_" + name)
        if val:
            ax.plot(
                _epochs(len(val), total), val, label="validation", marker="o" if len(val) < total else None
            )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    if show is None:
        show = path is None and matplotlib.get_backend().lower() not in _NO_SHOW_BACKENDS
    if show:
        plt.show()
    return fig
