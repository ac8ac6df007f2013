"""The life-cycle methods of ``Model``: compile, fit, evaluate, predict, the single-batch methods and
Keras 2's generator and class/probability methods.

A mixin: the methods check the arguments Keras checks and hand the work to lstmkit/training (loops.py,
single_batch.py); the model's structure (layers, building, devices, saving) is lstmkit/models/model.py.
It comes before ``Layer`` in ``Model``'s bases, so that its ``compile`` is the one a model has (not
``torch.nn.Module.compile``).
"""

from __future__ import annotations

import numpy as np

from lstmkit.training import loops, single_batch
from lstmkit.training.compile_config import CompileConfig
from lstmkit.training.compiled import check_jit_compile
from lstmkit.utils.concurrency import exclusive_fit
from lstmkit.utils.naming import reject_unknown_kwargs

__all__ = ["LifeCycle"]

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


class LifeCycle:
    """compile / fit / evaluate / predict for a ``Model`` (which sets ``self.compiled`` in ``__init__``)."""

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
