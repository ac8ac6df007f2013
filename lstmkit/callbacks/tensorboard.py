"""TensorBoard: write training curves (and optionally weight histograms, images, the model graph and
embeddings) as TensorBoard event files, through ``torch.utils.tensorboard``.

Needs the ``tensorboard`` package (``pip install tensorboard``); without it the constructor raises
an ImportError that says so. View the logs with ``tensorboard --logdir logs``.
"""

from __future__ import annotations

import importlib.util
import os
import time
import warnings
from collections.abc import Mapping

import torch

from lstmkit import backend
from lstmkit.callbacks.base import Callback, check_frequency
from lstmkit.callbacks.hooks import add_hooks
from lstmkit.saving.writing import check_directory
from lstmkit.utils.checks import check_int
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["TensorBoard"]

_INSTALL_HINT = (
    "The TensorBoard callback needs the `tensorboard` package, which is not installed. Install it with `pip "
    "install tensorboard`, or leave the TensorBoard callback out."
)


def _summary_writer_class():
    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(_INSTALL_HINT)
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(f"{_INSTALL_HINT} (import failed: {err})") from err
    return SummaryWriter


def _non_negative_int(value, what):
    return check_int(value, what, 0, owner="TensorBoard")


class TensorBoard(Callback):
    """``TensorBoard(log_dir='logs', histogram_freq=0, write_graph=True, write_images=False,
    write_steps_per_second=False, update_freq='epoch', profile_batch=0, embeddings_freq=0,
    embeddings_metadata=None)``, writing what Keras 3 writes, where Keras writes it:

    - ``log_dir/train``: ``epoch_loss``, ``epoch_<metric>``, ``epoch_learning_rate`` per epoch (step =
      epoch index); with ``update_freq='batch'`` or N, also ``batch_loss``, ``batch_<metric>`` every
      N batches (step = training batches so far); ``epoch_steps_per_second`` / ``batch_steps_per_second``
      with ``write_steps_per_second=True``.
    - ``log_dir/validation``: the ``val_`` values as ``epoch_loss``, ``epoch_<metric>``; after
      ``model.evaluate(..., callbacks=[tb])``, ``evaluation_<name>_vs_iterations``.
    - ``histogram_freq=N``: a histogram of every weight every N epochs (``<layer>/<weight>/histogram``);
      with ``write_images=True`` also each weight as a grey image (``.../image``).
    - ``write_graph=True``: the model graph (traced with a dummy batch; if tracing fails, a warning)
      and its architecture JSON as text (``model_config``).
    - ``embeddings_freq=N``: every N epochs, the weights of layers with an ``embeddings`` weight for
      TensorBoard's projector; ``embeddings_metadata``: a file of labels (one per row), or
      ``{layer_name: file}``.
    - ``profile_batch``: profiling is not available (0 only); use ``torch.profiler`` directly.

    Event files are written by the main process only (``lstmkit.backend.is_main_process()``).
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
        **kwargs,
    ):
        reject_unknown_kwargs(
            "TensorBoard",
            kwargs,
            [
                "log_dir",
                "histogram_freq",
                "write_graph",
                "write_images",
                "write_steps_per_second",
                "update_freq",
                "profile_batch",
                "embeddings_freq",
                "embeddings_metadata",
            ],
        )
        super().__init__()
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _non_negative_int(histogram_freq, "histogram_freq")
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        self.update_freq = check_frequency(update_freq, "update_freq", "TensorBoard", "'epoch', 'batch'")
        if profile_batch not in (0, None, (0, 0), [0, 0]):
            raise ValueError(
                f"TensorBoard(profile_batch={profile_batch!r}): profiling through this callback is not "
                "available in lstmkit. Leave profile_batch=0 and wrap the batches you want in "
                "torch.profiler.profile(...) instead."
            )
        self.embeddings_freq = _non_negative_int(embeddings_freq, "embeddings_freq")
        if embeddings_metadata is not None and not isinstance(embeddings_metadata, (str, os.PathLike, dict)):
            raise TypeError(
                "embeddings_metadata must be a file path or {layer_name: file path}. Received: "
                f"{embeddings_metadata!r}"
            )
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, object] = {}
        self._global_train_batch = 0
        self._epoch_start = (0.0, 0)
        self._batch_start = 0.0
        hooks = {}
        if self.update_freq != "epoch" or self.write_steps_per_second:
            hooks["on_train_batch_end"] = TensorBoard._batch_end
        if self.write_steps_per_second:
            hooks["on_train_batch_begin"] = TensorBoard._batch_begin
        add_hooks(self, hooks)

    # ------------------------------------------------------------------ writers
    def _writer(self, which: str):
        """The writer for 'train' or 'validation' (created on first use), or None off the main process."""
        if not backend.is_main_process():
            return None
        if which not in self._writers:
            self._writers[which] = self._writer_class(log_dir=os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if backend.is_main_process():  # fail now, naming the directory, not after the first epoch
            check_directory(self.log_dir, "TensorBoard's logs")
        if self.write_graph:
            self._write_graph()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start = (time.perf_counter(), self._iterations())

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        rate = self._learning_rate()
        if rate is not None:
            train["learning_rate"] = rate
        if self.write_steps_per_second:
            started, iterations = self._epoch_start
            elapsed = time.perf_counter() - started
            if elapsed > 0:
                train["steps_per_second"] = (self._iterations() - iterations) / elapsed
        self._scalars("train", "epoch_", train, epoch)
        self._scalars("validation", "epoch_", validation, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._write_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()  # readable while training goes on

    def on_test_end(self, logs=None):
        if self.model is None or getattr(self.model, "optimizer", None) is None:
            return
        step = self._iterations()
        for name, value in (logs or {}).items():
            self._scalar("validation", f"evaluation_{name}_vs_iterations", value, step)
        writer = self._writers.get("validation")
        if writer is not None:
            writer.flush()

    def _batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def _batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        step = self._global_train_batch
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            if elapsed > 0:
                self._scalar("train", "batch_steps_per_second", 1.0 / elapsed, step)
        if self.update_freq != "epoch" and step % self.update_freq == 0 and isinstance(logs, Mapping):
            self._scalars("train", "batch_", logs, step)

    # ------------------------------------------------------------------ writing
    def _scalar(self, which, tag, value, step):
        writer = self._writer(which)
        if writer is None:
            return
        try:
            value = float(value)
        except (TypeError, ValueError):
            return  # non-numeric log entries are not curves
        writer.add_scalar(tag, value, global_step=step)

    def _scalars(self, which, prefix, values: Mapping, step):
        for name in values:
            self._scalar(which, prefix + name, values[name], step)

    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        if hasattr(optimizer, "current_learning_rate"):
            return float(optimizer.current_learning_rate())
        rate = getattr(optimizer, "learning_rate", None)
        return None if rate is None or callable(rate) else float(rate)

    def _write_graph(self):
        writer = self._writer("train")
        if writer is None:
            return
        try:
            writer.add_text("model_config", "```\n" + self.model.to_json(indent=2) + "\n```", global_step=0)
        except (TypeError, ValueError, NotImplementedError, AttributeError) as err:
            warnings.warn(
                f"TensorBoard: could not write the model config ({err}).", UserWarning, stacklevel=2
            )
        example = self._example_input()
        if example is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # tracing warns about Python control flow; the graph is still right
                writer.add_graph(self.model, example, use_strict_trace=False)
        except Exception as err:  # noqa: BLE001 - tracing can fail in many ways; the curves matter more
            warnings.warn(
                "TensorBoard: the model graph could not be traced, so it is not written "
                f"({type(err).__name__}: {err}). Pass write_graph=False to skip it.",
                UserWarning,
                stacklevel=2,
            )

    def _example_input(self):
        example = self.model.example_inputs()
        return (example,) if isinstance(example, list) else example  # several inputs: one list argument

    def _built_weights(self):
        """(layer, weight) for every weight of the model's built layers."""
        for layer in self.model.layers:
            if layer.built:
                for weight in layer.keras_weights():
                    yield layer, weight

    def _write_weights(self, epoch):
        writer = self._writer("train")
        if writer is None:
            return
        for _, weight in self._built_weights():
            values = weight.read().detach().float().cpu()
            writer.add_histogram(f"{weight.name}/histogram", values, global_step=epoch)
            if self.write_images:
                writer.add_image(
                    f"{weight.name}/image", _as_image(values), global_step=epoch, dataformats="HW"
                )

    def _write_embeddings(self, epoch):
        writer = self._writer("train")
        if writer is None:
            return
        for layer, weight in self._built_weights():
            if weight.name.split("/")[-1] == "embeddings":
                matrix = weight.read().detach().float().cpu()
                labels, header = self._metadata_for(layer.name, matrix.shape[0])
                writer.add_embedding(
                    matrix, metadata=labels, metadata_header=header, tag=layer.name, global_step=epoch
                )

    def _metadata_for(self, layer_name, rows):
        source = self.embeddings_metadata
        if isinstance(source, dict):
            source = source.get(layer_name)
        if source is None:
            return None, None
        with open(source, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        if len(lines) == rows + 1 and "\t" in lines[0]:
            return [line.split("\t") for line in lines[1:]], lines[0].split("\t")
        if len(lines) == rows:
            return lines, None
        warnings.warn(
            f"TensorBoard: embeddings metadata '{source}' has {len(lines)} lines but layer '{layer_name}' "
            f"has {rows} embeddings; the labels are left out.",
            UserWarning,
            stacklevel=2,
        )
        return None, None


def _as_image(values: torch.Tensor) -> torch.Tensor:
    """A weight as a (height, width) image in [0, 1]: vectors as one row, wide side horizontal."""
    image = values.reshape(1, -1) if values.dim() <= 1 else values.reshape(values.shape[0], -1)
    if image.shape[0] > image.shape[1]:
        image = image.t()
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else torch.zeros_like(image)
