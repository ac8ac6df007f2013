"""Model: a Layer with the life-cycle (compile, fit, evaluate, predict; in models/lifecycle.py).

``Sequential`` is the model tutorials use. ``Model`` can also be subclassed (Keras's subclassing API):
create layers in ``__init__`` and compute in ``call``.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.layers.base import Layer
from lstmkit.layers.layer_weights import child_layers
from lstmkit.models.lifecycle import LifeCycle
from lstmkit.training.compile_config import CompileConfig

__all__ = ["Model"]


class Model(LifeCycle, Layer):
    """Base of all models. Data arguments accept NumPy arrays, lists, pandas objects and torch tensors.

    ``Model(inputs, outputs)`` (symbolic tensors from ``keras.Input``) makes a graph model
    (``lstmkit.models.functional.Functional``); a subclass that defines ``call`` is Keras's subclassing API.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_arguments(args, kwargs):
            from lstmkit.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if _functional_arguments(args, kwargs):
            self._become_functional(args, kwargs, name, trainable)
            return
        if args:
            raise TypeError(
                f"Model() takes inputs and outputs (symbolic tensors) or only keyword arguments. Received "
                f"positional argument(s) {args!r:.120}. For a graph model: keras.Model(inputs, outputs)."
            )
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.compiled: CompileConfig | None = None
        self.stop_training = False
        self.history = None
        self._penalized: list | None = None
        self._output_shapes: dict = {}

    def _become_functional(self, args, kwargs, name, trainable):
        """``Model(inputs, outputs)``, also from a subclass's ``super().__init__(inputs=..., outputs=...)``."""
        from lstmkit.models.functional import Functional

        if not isinstance(self, Functional):  # a subclass building a graph in __init__
            cls = type(self)
            self.__class__ = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__})
        # Functional reads inputs/outputs, positional or by keyword (Keras 1's input=/output= too)
        Functional.__init__(self, *args, name=name, trainable=trainable, **kwargs)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        return child_layers(self)

    def get_layer(self, name=None, index=None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise ValueError(f"No layer named {name!r} in model '{self.name}'. Its layers: {names}.")

    @property
    def input_dtype(self) -> str:
        layers = self.layers
        return layers[0].input_dtype if layers else "float"

    def sublayers(self) -> list[Layer]:
        return [m for m in self.modules() if isinstance(m, Layer) and m is not self]

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def regularization_loss(self):
        """Sum of the regularization penalties of all layers, or None when there are none."""
        if self._penalized is None:  # top-level layers report their inner layers' penalties too
            self._penalized = [
                layer for layer in self.layers if layer.built and layer.regularization_losses()
            ]
        if not self._penalized:
            return None
        return sum(p for layer in self._penalized for p in layer.regularization_losses())

    def _structure_changed(self):
        self._penalized = None
        self._output_shapes = {}
        self._constraints = None

    def apply_constraints(self) -> None:
        """Project the weights that have constraints (``kernel_constraint=``, ``add_weight(constraint=)``)
        after an optimizer update, as Keras does."""
        pairs = getattr(self, "_constraints", None)
        if pairs is None:
            pairs = self._constraints = self.weight_constraints()
        if pairs:
            with torch.no_grad():
                for weight, constraint in pairs:
                    weight.write(constraint(weight.read()))

    # ------------------------------------------------------------------ shapes (generic fallback)
    def prepare_input(self, x_shape) -> None:
        """Check that inputs of ``x_shape`` fit and build the weights (subclassed models: a traced run)."""
        if not self.built or not self._output_shapes:
            self.compute_output_shape(_batchless(x_shape))

    def ensure_built(self, input_shape) -> None:
        # A subclassed model's layers build themselves in the call that follows; no extra run is needed.
        if not self.built:
            self.built = True
            self.built_input_shape = _batchless(input_shape)

    def build(self, input_shape=None) -> None:
        """Build every layer for inputs of ``input_shape`` (batch axis first) by one traced run."""
        if input_shape is None:
            raise ValueError(
                f"Model '{self.name}'.build() needs the input shape, e.g. model.build((None, 10, 3))."
            )
        self.compute_output_shape(_batchless(input_shape))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from ``get_config()``: a graph model's config (Keras's ``"Model"``/``"Functional"``) is
        rebuilt as one; a subclass needs its own ``get_config``/``from_config`` pair, as in Keras."""
        if isinstance(config, dict) and "input_layers" in config and "layers" in config:
            from lstmkit.models.functional import Functional

            return Functional.from_config(config, custom_objects)
        return cls(**config)

    # ------------------------------------------------------------------ describing itself (saving, TensorBoard)
    def build_config(self) -> dict | None:
        """What ``build_from_config`` needs to make the weights again: ``{"input_shape": shape}`` (a list of
        shapes for several inputs), or None when the model is not built."""
        shape = self.built_input_shape
        if shape is None and self._output_shapes:
            key = next(iter(self._output_shapes))
            shape = [(None, *k) for k in key] if key and isinstance(key[0], tuple) else (None, *key)
        return None if shape is None else {"input_shape": shape}

    def build_from_config(self, config: dict) -> None:
        """Make the weights for the input shape ``build_config()`` recorded."""
        shape = config["input_shape"]
        several = bool(shape) and all(isinstance(s, (list, tuple)) for s in shape)
        self.build([tuple(s) for s in shape] if several else tuple(shape))

    def example_inputs(self, batch_size: int = 1):
        """Zero tensors the model accepts (unknown sizes as 1), or None while its input shape is unknown."""
        config = self.build_config()
        shape = None if config is None else config["input_shape"]
        if shape is None:
            return None
        several = bool(shape) and all(isinstance(s, (list, tuple)) for s in shape)
        dtypes = getattr(self, "input_dtypes", None) or [self.input_dtype] * (len(shape) if several else 1)
        tensors = self._zero_inputs(shape if several else [shape], dtypes, batch_size)
        return tensors if several else tensors[0]

    def _zero_inputs(self, shapes, kinds, batch_size: int) -> list[torch.Tensor]:
        """One zero tensor ``(batch_size, ...)`` per input shape (unknown sizes as 1), int64 for 'int'
        inputs, on the model's device."""
        return [
            torch.zeros(
                (batch_size, *(1 if d is None else int(d) for d in shape[1:])),
                dtype=torch.int64 if kind == "int" else self.compute_dtype,
                device=self.current_device(),
            )
            for shape, kind in zip(shapes, kinds)
        ]

    def compute_output_shape(self, input_shape):
        key = _hashable(input_shape)
        if key not in self._output_shapes:
            from lstmkit.graph.tracing import trace_output_shape

            self.ensure_built(input_shape)
            self._output_shapes[key] = trace_output_shape(self, input_shape)
        return self._output_shapes[key]

    def describe_output_fix(self) -> str:
        return ""

    # ------------------------------------------------------------------ data in several inputs
    @property
    def input_dtypes(self) -> list[str]:
        """'int' or 'float' per input (token ids stay integers)."""
        return [self.input_dtype]

    def flatten_inputs(self, x, what: str = "x") -> list:
        """The data of each input, in input order. A subclassed model takes a list or tuple of arrays as
        several inputs (Keras 3 hands the list to ``call``); anything else is one input."""
        from lstmkit.training.structures import array_like

        if isinstance(x, dict):
            raise TypeError(
                f"{what} is a dict of inputs, but model '{self.name}' is not a graph model with named inputs. "
                "Pass one array, or build a keras.Model(inputs={...}, outputs=...) whose inputs have those names."
            )
        if isinstance(x, (list, tuple)) and len(x) > 1 and all(array_like(v) for v in x):
            return list(x)
        return [x]

    def check_input_values(self, x) -> None:
        """Checks of the input values that need the whole data set once (token ids against an Embedding's
        vocabulary), so that no per-batch device synchronisation is needed later."""
        from lstmkit.layers.embedding import check_token_ids

        layers = self.layers
        if layers and self.input_dtype == "int" and not isinstance(x, list):
            check_token_ids(layers[0], x)

    def current_device(self) -> torch.device:
        param = next(self.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def place(self, device: torch.device) -> torch.device:
        """Move the model (and its optimizer state) to ``device`` unless it is already there."""
        if self.current_device() != device:
            self.to(device)
            if self.compiled is not None:
                self.compiled.optimizer.move_state(device)
        return device

    def stateful_batch_size(self) -> int | None:
        """The batch size every batch must have because of a stateful layer, or None."""
        for layer in self.sublayers():
            size = getattr(layer, "stateful_batch_size", None)
            if getattr(layer, "stateful", False) and size is not None:
                return size
        declared = getattr(self, "declared_input_shape", None)
        if (
            declared
            and declared[0] is not None
            and any(getattr(m, "stateful", False) for m in self.sublayers())
        ):
            return declared[0]
        return None

    def reset_states(self) -> None:
        """Zero the carried states of every stateful layer (Keras 2's ``model.reset_states()``)."""
        for layer in self.sublayers():
            if hasattr(layer, "reset_states") and getattr(layer, "stateful", False):
                layer.reset_states()

    # ------------------------------------------------------------------ saving (lstmkit/saving does the work)
    def save(self, filepath, overwrite=True, **kwargs) -> None:
        """Write the whole model (architecture, weights, compile settings, optimizer state) to one file."""
        from lstmkit.saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def export(self, filepath, format=None, verbose=None, input_signature=None, **kwargs):
        """Keras 3's export for serving: ``model.export('model.onnx', format='onnx')`` (see lstmkit.export)."""
        from lstmkit.export.api import export_model

        return export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs) -> None:
        from lstmkit.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, **kwargs) -> None:
        from lstmkit.saving import load_weights

        load_weights(self, filepath, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (no weights); rebuild it with ``lstmkit.models.model_from_json``."""
        from lstmkit.saving import model_to_json

        return model_to_json(self, **kwargs)

    # ------------------------------------------------------------------ weights and display
    def summary(self, line_length=None, print_fn=None, show_trainable=False) -> None:
        from lstmkit.models.summary import summarize

        summarize(self, line_length=line_length, print_fn=print_fn, show_trainable=show_trainable)

    def _as_tensors(self, inputs):
        """Data given to ``model(x)``: tensors on the model's device, ids as integers."""
        if isinstance(inputs, torch.Tensor):
            return inputs
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(t, torch.Tensor) for t in inputs):
            return list(inputs)
        dtype = torch.int64 if self.input_dtype == "int" else self.compute_dtype
        return torch.as_tensor(np.asarray(inputs), dtype=dtype, device=self.current_device())


def _functional_arguments(args, kwargs) -> bool:
    from lstmkit.graph.keras_tensor import any_symbolic

    named = ("inputs", "outputs", "input", "output")
    return any(key in kwargs for key in named) or any_symbolic(list(args[:2]))


def _batchless(shape):
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return [_batchless(s) for s in shape]
    return (None,) + tuple(shape[1:])


def _hashable(shape):
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return tuple(_hashable(s) for s in shape)
    return tuple(shape[1:])
