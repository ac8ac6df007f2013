"""Model: a Layer with the life-cycle — compile, fit, evaluate, predict — and Keras 2's extras.

``Sequential`` is the model tutorials use. ``Model`` can also be subclassed (Keras's subclassing API):
create layers in ``__init__`` and compute in ``call``.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.layers.base import Layer
from lstmkit.layers.layer_weights import child_layers
from lstmkit.training import loops, single_batch
from lstmkit.training.compile_config import CompileConfig
from lstmkit.training.compiled import check_jit_compile
from lstmkit.utils.concurrency import exclusive_fit
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["Model"]

_FIT_ARGS = [
    "x",
    "y",
    "batch_size",
    "epochs",
    "verbose",
    "callbacks",
    "validation_split",
    "validation_data",
    "shuffle",
    "class_weight",
    "sample_weight",
    "initial_epoch",
    "steps_per_epoch",
    "validation_steps",
    "validation_batch_size",
    "validation_freq",
    "max_queue_size",
    "workers",
    "use_multiprocessing",
    "nb_epoch",
    "distributed",
]


def _set_multiprocessing(data, use_multiprocessing) -> None:
    """Keras's use_multiprocessing: a Sequence's batches are then loaded in worker processes."""
    if not use_multiprocessing:
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not hasattr(data, "shape"):
        data.use_multiprocessing = True
        return
    raise ValueError(
        "use_multiprocessing=True needs a Sequence/PyDataset (batches by index), which worker processes can share; "
        "a generator cannot be read by several processes. Use workers=N (threads) or a Sequence."
    )


class Model(Layer):
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

        # Keras 1 wrote Model(input=..., output=...).
        inputs = kwargs.pop("inputs", kwargs.pop("input", args[0] if args else None))
        outputs = kwargs.pop("outputs", kwargs.pop("output", args[1] if len(args) > 1 else None))
        if outputs is None:
            raise TypeError(
                "keras.Model(inputs, outputs) needs outputs too: keras.Model(inputs=x, outputs=y)."
            )
        if not isinstance(self, Functional):  # a subclass building a graph in __init__
            cls = type(self)
            self.__class__ = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__})
        Functional.__init__(self, inputs, outputs, name=name, trainable=trainable, **kwargs)

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
        tensors = [
            torch.zeros(
                (batch_size, *(1 if d is None else int(d) for d in s[1:])),
                dtype=torch.int64 if kind == "int" else self.compute_dtype,
                device=self.current_device(),
            )
            for s, kind in zip(shape if several else [shape], dtypes)
        ]
        return tensors if several else tensors[0]

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

    # ------------------------------------------------------------------ life-cycle
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=None,
        jit_compile=None,
        **kwargs,
    ):
        """Configure training: ``compile(optimizer='adam', loss='mse', metrics=['mae'])``.

        ``run_eagerly`` is accepted and always true in effect (PyTorch runs eagerly).
        ``jit_compile``: True compiles the training, evaluation and prediction steps with ``torch.compile``
        (lstmkit/training/compiled.py); 'auto' compiles long step-loop trainings only; None/False (the
        default) runs eagerly.
        """
        reject_unknown_kwargs(
            "compile",
            kwargs,
            [
                "optimizer",
                "loss",
                "metrics",
                "loss_weights",
                "weighted_metrics",
                "run_eagerly",
                "jit_compile",
            ],
        )
        jit_compile = check_jit_compile(jit_compile)
        self.compiled = CompileConfig(
            optimizer,
            loss,
            metrics,
            loss_weights,
            weighted_metrics,
            output_names=getattr(self, "output_names", None),
        )
        self.compiled.jit_compile = jit_compile
        if getattr(self._dtype_policy, "name", None) == "mixed_float16":  # Keras wraps it the same way
            from lstmkit.mixed_precision import LossScaleOptimizer

            if not isinstance(self.compiled.optimizer, LossScaleOptimizer):
                self.compiled.optimizer = LossScaleOptimizer(self.compiled.optimizer)

    @property
    def optimizer(self):
        return None if self.compiled is None else self.compiled.optimizer

    @property
    def loss(self):
        return None if self.compiled is None else self.compiled.loss_identifier

    def require_compiled(self, action: str) -> CompileConfig:
        if self.compiled is None:
            raise RuntimeError(
                f"You must compile the model before calling {action}(): e.g. "
                "model.compile(optimizer='adam', loss='mean_squared_error')."
            )
        if self.compiled.loss is None:
            raise ValueError(
                f"The model was compiled without a loss, so {action}() has nothing to compute. Pass one: "
                "model.compile(optimizer=..., loss='mean_squared_error')."
            )
        return self.compiled

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
        max_queue_size=None,
        workers=None,
        use_multiprocessing=None,
        distributed="auto",
        **kwargs,
    ):
        """Train for ``epochs`` passes over ``(x, y)``; returns a ``History``.

        x: an array (samples, timesteps, features) for recurrent models with y (samples, outputs) — or a
        Sequence/PyDataset/TimeseriesGenerator or a generator of ``(x, y[, sample_weight])`` batches (then no y;
        ``steps_per_epoch`` bounds an epoch of an endless generator). Keras 1's ``nb_epoch=`` means ``epochs``.
        ``workers``/``max_queue_size``/``use_multiprocessing`` load Sequence and generator batches ahead of use.
        ``distributed``: 'auto' trains data-parallel when launched by torchrun with several processes
        (``batch_size`` is then the batch of each process; see docs/distributed.md), False never, True
        insists (an error when not launched that way).
        """
        if "nb_epoch" in kwargs:
            epochs = kwargs.pop("nb_epoch")
        reject_unknown_kwargs("fit", kwargs, _FIT_ARGS)
        _set_multiprocessing(x, use_multiprocessing)
        with exclusive_fit(self):  # two fits at once on one model are refused
            return loops.fit(
                self,
                x,
                y,
                batch_size=batch_size,
                epochs=epochs,
                verbose=verbose,
                callbacks=callbacks,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=shuffle,
                class_weight=class_weight,
                sample_weight=sample_weight,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                validation_steps=validation_steps,
                validation_batch_size=validation_batch_size,
                validation_freq=validation_freq,
                workers=workers,
                max_queue_size=max_queue_size,
                distributed=distributed,
            )

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
        max_queue_size=None,
        workers=None,
        use_multiprocessing=None,
        distributed="auto",
        **kwargs,
    ):
        """The loss (a float) or ``[loss, metric, ...]`` (compile order) on ``(x, y)``; a dict if ``return_dict``.
        Under torchrun (``distributed='auto'``) each process evaluates its share; every process returns
        the values over all of them."""
        reject_unknown_kwargs(
            "evaluate",
            kwargs,
            [
                "x",
                "y",
                "batch_size",
                "verbose",
                "sample_weight",
                "steps",
                "callbacks",
                "return_dict",
                "max_queue_size",
                "workers",
                "use_multiprocessing",
                "distributed",
            ],
        )
        _set_multiprocessing(x, use_multiprocessing)
        return loops.evaluate(
            self,
            x,
            y,
            batch_size=batch_size,
            verbose=verbose,
            sample_weight=sample_weight,
            steps=steps,
            callbacks=callbacks,
            return_dict=return_dict,
            workers=workers,
            max_queue_size=max_queue_size,
            distributed=distributed,
        )

    def predict(
        self,
        x,
        batch_size=None,
        verbose="auto",
        steps=None,
        callbacks=None,
        max_queue_size=None,
        workers=None,
        use_multiprocessing=None,
        distributed="auto",
        **kwargs,
    ) -> np.ndarray:
        """The model output for ``x`` as a NumPy array of shape (samples, ...).
        Under torchrun (``distributed='auto'``) each process predicts its share; every process returns
        the whole output, in the order of ``x``."""
        reject_unknown_kwargs(
            "predict",
            kwargs,
            [
                "x",
                "batch_size",
                "verbose",
                "steps",
                "callbacks",
                "max_queue_size",
                "workers",
                "use_multiprocessing",
                "distributed",
            ],
        )
        _set_multiprocessing(x, use_multiprocessing)
        return loops.predict(
            self,
            x,
            batch_size=batch_size,
            verbose=verbose,
            steps=steps,
            callbacks=callbacks,
            workers=workers,
            max_queue_size=max_queue_size,
            distributed=distributed,
        )

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; the batch's loss, or [loss, metrics...]."""
        return single_batch.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return single_batch.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x) -> np.ndarray:
        return single_batch.predict_on_batch(self, x)

    # Keras 2's generator methods: the same loops, which take generators and Sequences directly.
    def fit_generator(
        self,
        generator,
        steps_per_epoch=None,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_data=None,
        validation_steps=None,
        validation_freq=1,
        class_weight=None,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        shuffle=True,
        initial_epoch=0,
    ):
        return self.fit(
            generator,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_data=validation_data,
            validation_steps=validation_steps,
            validation_freq=validation_freq,
            class_weight=class_weight,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            shuffle=shuffle,
            initial_epoch=initial_epoch,
        )

    def evaluate_generator(
        self,
        generator,
        steps=None,
        callbacks=None,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        verbose=0,
    ):
        return self.evaluate(
            generator,
            steps=steps,
            callbacks=callbacks,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            verbose=verbose,
        )

    def predict_generator(
        self,
        generator,
        steps=None,
        callbacks=None,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        verbose=0,
    ):
        return self.predict(
            generator,
            steps=steps,
            callbacks=callbacks,
            max_queue_size=max_queue_size,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            verbose=verbose,
        )

    def predict_classes(self, x, batch_size=None, verbose=0) -> np.ndarray:
        """Keras 2: class labels. argmax over the last axis for outputs wider than 1, else ``p > 0.5`` as int32."""
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=None, verbose=0) -> np.ndarray:
        """Keras 2: the predicted probabilities (the output of a sigmoid/softmax model)."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

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
