"""``compile(..., jit_compile=True)``: training, evaluation and prediction steps compiled by ``torch.compile``.

What runs compiled
- Training: the *whole* step — forward, loss, regularization penalties and the backward pass — is one
  graph (``torch.func.grad_and_value`` over the model's parameters; ``loss.backward()`` inside a compiled
  function would split it). The optimizer update then runs eagerly on the gradients, as in an eager
  step, so every optimizer, schedule and clipping option behaves exactly as without compilation (on the
  CPU the update is a handful of operations on one buffer).
- ``evaluate``/``predict``: the model's forward pass, compiled separately for inference.
- Fused recurrent kernels (``torch.lstm``/``torch.gru``: a tanh LSTM or GRU without mask or recurrent
  dropout, on more than one timestep) cannot be traced, and they are the work of such a step anyway: a
  forward pass that calls one (found by one untimed probe pass) runs eagerly, with no warning. Keeping
  them out of the graph with ``torch.compiler.disable`` was tried: the graph break inside the layers'
  phase context makes torch.compile fall back frame by frame (9 small graphs for a 3-layer model), with
  nothing gained.

Shapes are static: the first batch fixes the batch size, and a smaller last batch is padded to it with
zero rows of zero weight (its loss, metrics and gradients are those of its real rows), so nothing is
compiled twice; a dynamic batch axis would compile a second, much slower graph (shared/research/perf.md).
Every graph compiled for a model is counted in ``step.graphs`` (tests check that epochs and last batches
add none). Inductor's on-disk caches are on (``~/.cache/lstmkit/inductor`` unless
``TORCHINDUCTOR_CACHE_DIR`` says otherwise), so a second process compiles the same model in seconds.

Without a C++ compiler, or when compiling fails for any reason, one warning says so and the steps run
eagerly with the same results. Stateful recurrent layers and torchrun runs always run eagerly.

``jit_compile='auto'`` compiles only where measurements show it pays back (see ``AUTO_*`` below).
"""

from __future__ import annotations

import itertools
import os
import time
import types
import warnings

import torch
from torch.utils import _pytree as pytree

from lstmkit import backend
from lstmkit.layers.call_context import collecting_losses
from lstmkit.training.step import with_penalties
from lstmkit.training.structures import batch_size_of, first

__all__ = ["AUTO_MIN_SECONDS", "CompiledTrainStep", "check_jit_compile", "inference_forward", "train_step"]

# 'auto': compile a training run only when its eager time, estimated from its first steps, is at least
# this long and no layer uses a fused kernel. Measured on a 2-core x86 VM (perf.md): compiling costs 17-46 s
# cold (3-4 s from the on-disk cache) and speeds up step-loop (generic) models 1.15-1.4x at medium size,
# 3-4x on tutorial-size ones; fused-kernel models gain little. 120 s pays back a cold compile at 1.4x.
AUTO_MIN_SECONDS = 120.0
AUTO_PROBE_STEPS = 10  # eager steps timed (after the first) before 'auto' decides
_FUSED_KERNELS = (torch.lstm, torch.gru, torch.rnn_tanh, torch.rnn_relu)
_warned: set = set()


def check_jit_compile(value):
    """``compile(jit_compile=...)`` normalised: False, True or 'auto' (None means False)."""
    if value is None or value is False:
        return False
    if value is True or value == "auto":
        return value
    raise ValueError(
        f"jit_compile must be True, False or 'auto'. Received: jit_compile={value!r}. True compiles the "
        "training, evaluation and prediction steps with torch.compile (needs a C++ compiler); 'auto' "
        "compiles long step-loop trainings only."
    )


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def compiler_problem() -> str | None:
    """Why inductor cannot compile CPU code here (no C++ compiler), or None."""
    try:
        from torch._inductor import cpp_builder

        cpp_builder.get_cpp_compiler()
    except Exception as error:  # noqa: BLE001 - any failure to find a compiler means: run eagerly
        return f"{type(error).__name__}: {error}".strip()
    return None


def _persistent_caches() -> None:
    os.environ.setdefault(
        "TORCHINDUCTOR_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "lstmkit", "inductor")
    )
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True
    if hasattr(inductor_config, "autograd_cache"):
        inductor_config.autograd_cache = True


class _FusedCallWatch(torch.overrides.TorchFunctionMode):
    """Notes whether a forward pass calls one of torch's fused recurrent kernels."""

    def __init__(self):
        super().__init__()
        self.seen = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _FUSED_KERNELS:
            self.seen = True
        return func(*args, **(kwargs or {}))


def _pad(tree, size: int):
    """Every tensor of ``tree`` with zero rows appended up to ``size`` rows."""

    def pad(t):
        if t is None or t.shape[0] == size:
            return t
        return torch.cat([t, t.new_zeros((size - t.shape[0],) + tuple(t.shape[1:]))])

    return pad(tree) if isinstance(tree, torch.Tensor) else pytree.tree_map(pad, tree)


def _cut(tree, n: int):
    return pytree.tree_map(lambda t: t if t is None else t[:n], tree)


class _Compiler:
    """Compiles functions for one model and counts the graphs it compiles."""

    def __init__(self, model):
        self.model = model
        self.graphs = 0
        self.failed: str | None = None
        _persistent_caches()  # before anything in inductor reads (and fixes) its cache directory
        problem = compiler_problem()
        if problem is not None:
            self.fail(
                f"no C++ compiler was found ({problem})",
                "Install one (g++ or clang++; torch.compile builds its kernels with it). ",
            )

    def fail(self, reason: str, advice: str = "") -> None:
        self.failed = reason
        _warn_once(
            reason,
            f"jit_compile=True: {reason}. Running eagerly instead (same results, without compilation). "
            f"{advice}Pass jit_compile=False to silence this.",
        )

    def compile(self, fn):
        """``torch.compile(fn)`` through inductor, counting graphs. ``fn`` gets a code object of its own
        first: torch.compile keeps compiled graphs per code object, so without it every model compiled in
        a process would add an entry to one shared cache (8 models reach its limit, after which nothing
        compiles) and the guards that tell the models apart would be skipped after the first call."""
        fn = _own_code(fn)
        device = self.model.current_device()

        def backend(graph, example_inputs):
            from torch._inductor.compile_fx import compile_fx

            self.graphs += 1
            patches = {"triton.cudagraphs": True} if device.type == "cuda" else {"cpp_wrapper": True}
            return compile_fx(graph, example_inputs, config_patches=patches)

        return torch.compile(fn, backend=backend, dynamic=False)


_code_ids = itertools.count()


def _own_code(fn):
    """A copy of the plain function ``fn`` whose code object is new (and so uncached by torch.compile)."""
    code = fn.__code__.replace(co_name=f"{fn.__code__.co_name}_lstmkit_{next(_code_ids)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _compiler_for(model) -> _Compiler:
    compiler = getattr(model, "_jit_compiler", None)
    if compiler is None:
        compiler = _Compiler(model)
        object.__setattr__(model, "_jit_compiler", compiler)  # not a submodule, not saved
    return compiler


def _needs_eager(model, run) -> str | None:
    if run is not None:
        return "training under torchrun"
    if getattr(getattr(model, "compiled", None), "optimizer", None) is not None and hasattr(
        model.compiled.optimizer, "scale_loss"
    ):
        return "float16 loss scaling skips steps by reading the gradients back"
    if any(getattr(layer, "stateful", False) for layer in model.sublayers()):
        return "a stateful recurrent layer carries states between batches"
    return None


def _batch_dependent(model) -> bool:
    """Layers whose output depends on the other rows of the batch: padding rows would change it."""
    from lstmkit.layers.normalization import BatchNormalization

    return any(isinstance(layer, BatchNormalization) for layer in model.sublayers())


class CompiledTrainStep:
    """A training step with TrainStep's interface, ``(x, y, weight) -> (loss, detached predictions)``,
    running compiled (see the module docstring); ``eager`` is the TrainStep it falls back to."""

    def __init__(self, model, compiled, eager):
        self.model, self.compiled, self.eager = model, compiled, eager
        self.optimizer = compiled.optimizer
        self.compiler = _compiler_for(model)
        self.batch = None  # the compiled batch size, fixed by the first batch
        self.fn = None
        self.whole = None  # True: compiled as one graph; False: a fused kernel runs, so the step stays eager
        self.names = self.params = None
        self.flat_grad = None  # the optimizer's one gradient buffer, when it keeps one (CPU)
        self.ran = False
        self._constants: dict = {}  # real rows -> (row validity, unit weights, batch / rows)

    @property
    def graphs(self) -> int:
        return self.compiler.graphs

    # ------------------------------------------------------------------ the objective
    def _loss_parts(self, x, y, w, valid, scale):
        """(total loss, loss, predictions, mask) of a padded batch: padded rows have weight 0 and are
        left out of masks; ``scale`` = batch / real rows turns the mean over the padded batch into the
        mean over the real rows (masked losses are normalised by their unmasked count instead)."""
        with collecting_losses() as added:
            pred = self.model(x, training=True)
        mask = getattr(pred, "_keras_mask", None)
        if mask is not None:
            mask = mask & valid.reshape((-1,) + (1,) * (mask.dim() - 1))
            pred._keras_mask = mask
            weight = w
        else:
            weight = w * scale
        total = with_penalties(self.model, self.compiled.loss_value(y, pred, weight), added)
        return total, pred, mask

    def _build(self, x):
        """Compile the step for batches like ``x``; or leave it eager when a fused kernel runs."""
        model = self.model
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.optimizer.zero_grad(self.params)
        self.flat_grad = self.optimizer.flat_gradient(self.params)
        # Fused kernels cannot be traced; add_loss terms would be computed over the padding rows of a last batch.
        self.whole = not any(_probe(model, x, training=True))
        if not self.whole:
            return
        with torch.no_grad():
            model.regularization_loss()  # fills its lazy cache now: a change while tracing would recompile
        parts = _Objective(model, self._loss_parts)
        names = ["model." + n for n in self.names]

        def objective(params, x, y, w, valid, scale):
            total, pred, mask = torch.func.functional_call(
                parts, dict(zip(names, params)), (x, y, w, valid, scale)
            )
            masks = () if mask is None else (mask,)  # functorch's aux outputs must be tensors
            return total, (total.detach(), pred.detach(), *masks)

        grad_and_value = torch.func.grad_and_value(objective, has_aux=True)
        flat = self.flat_grad is not None

        def step(params, x, y, w, valid, scale):
            grads, (_, (loss, pred, *masks)) = grad_and_value(params, x, y, w, valid, scale)
            if flat:  # the optimizer's layout: one buffer, written with one copy
                grads = torch.cat([g.reshape(-1) for g in grads])
            return grads, loss, pred, *masks

        self.fn = self.compiler.compile(step)

    # ------------------------------------------------------------------ one batch
    def __call__(self, x, y, weight, scale=1.0):
        if self.compiler.failed or scale != 1.0 or self.whole is False or self.compiled.multi:
            return self.eager(x, y, weight, scale)  # several outputs: the eager step (not compiled yet)
        n = batch_size_of(x)
        if self.batch is None:
            self.batch = n
        if n > self.batch or (n < self.batch and _batch_dependent(self.model)):
            return self.eager(x, y, weight)  # a larger batch than the first, or padding would change it
        try:
            return self._run(x, y, weight, n)
        except Exception as error:  # any compilation failure: fall back, say why once
            if self.ran:
                raise  # the step ran compiled before: this is an error in the data or the model
            self.compiler.fail(f"compiling the training step failed ({type(error).__name__}: {error})")
            return self.eager(x, y, weight)

    def _batch_constants(self, n, device):
        constants = self._constants.get(n)
        if constants is None:
            dtype = backend.float_dtype()
            constants = self._constants[n] = (
                torch.arange(self.batch, device=device) < n,
                torch.ones(n, dtype=dtype, device=device),
                torch.tensor(self.batch / n, dtype=dtype, device=device),
            )
        return constants

    def _run(self, x, y, weight, n):
        b = self.batch
        valid, ones, scale = self._batch_constants(n, first(y).device)
        w = ones if weight is None else weight.to(ones.dtype)
        if n < b:
            x, y, w = _pad(x, b), _pad(y, b), _pad(w, b)
        if self.fn is None:
            self._build(x)
            if not self.whole:
                return self.eager(_cut(x, n), _cut(y, n), weight)
        self.optimizer.zero_grad(self.params)
        # no_grad: grad_and_value differentiates anyway, and the graph needs no autograd around it.
        # Guards are checked on the first call only: nothing they test changes between steps.
        with torch.no_grad(), torch.compiler.set_stance(skip_guard_eval_unsafe=self.ran):
            grads, loss, pred, *masks = self.fn(self.params, x, y, w, valid, scale)
            if self.flat_grad is not None:
                self.flat_grad.copy_(grads)
            else:
                torch._foreach_copy_([p.grad for p in self.params], list(grads))
        mask = masks[0] if masks else None
        self.optimizer.apply(self.params)
        self.model.apply_constraints()
        self.ran = True
        if n < b:
            pred = pred[:n]
            mask = None if mask is None else mask[:n]
        if mask is not None:
            pred._keras_mask = mask
        return loss, None, pred


class _AutoStep:
    """jit_compile='auto': eager steps, timed; after ``AUTO_PROBE_STEPS`` it switches to the compiled step
    when the rest of the run would take at least ``AUTO_MIN_SECONDS`` eagerly and no fused kernel runs."""

    def __init__(self, model, compiled, eager, total_steps):
        self.model, self.compiled, self.eager, self.total = model, compiled, eager, total_steps
        self.done, self.started, self.chosen = 0, None, None

    def __call__(self, x, y, weight, scale=1.0):
        if self.chosen is not None:
            return self.chosen(x, y, weight, scale)
        result = self.eager(x, y, weight, scale)
        self.done += 1
        if self.done == 1:
            self.started = time.perf_counter()  # the first step pays one-time costs: not timed
        elif self.done == 1 + AUTO_PROBE_STEPS:
            per_step = (time.perf_counter() - self.started) / AUTO_PROBE_STEPS
            remaining = per_step * max(self.total - self.done, 0) if self.total else 0.0
            self.chosen = self.eager
            if remaining >= AUTO_MIN_SECONDS and not _probe(self.model, x, training=True)[0]:
                self.chosen = _kept_step(self.model, self.compiled, self.eager)
        return result


def _probe(model, x, training: bool) -> tuple[bool, bool]:
    """(calls a fused recurrent kernel, adds ``add_loss`` terms): what the model's forward pass on ``x`` in
    this phase does that keeps a step eager. One forward pass without side effects: the random state and
    the buffers (running statistics) are restored after it, and its add_loss terms are its own (they must
    not join the step being computed)."""
    watch = _FusedCallWatch()
    buffers = [(b, b.clone()) for b in model.buffers()]
    with torch.random.fork_rng(devices=[]), torch.no_grad(), watch, collecting_losses() as added:
        model(x, training=training)  # also builds anything still unbuilt
        for buffer, saved in buffers:
            buffer.copy_(saved)
    return watch.seen, bool(added)


class _Objective(torch.nn.Module):
    """The model plus its loss, as one module, so that ``torch.func.functional_call`` can swap in the
    parameters being differentiated for the forward pass and the regularization penalties alike."""

    def __init__(self, model, parts):
        super().__init__()
        self.model = model
        self._parts = parts

    def forward(self, x, y, w, valid, scale):
        return self._parts(x, y, w, valid, scale)


def train_step(model, compiled, eager, run=None, total_steps=None):
    """The step fit uses: ``eager`` (a TrainStep), or a compiled step per ``compile(jit_compile=...)``.
    ``total_steps``: the steps the run will take (for 'auto'), None when unknown."""
    mode = getattr(compiled, "jit_compile", False)
    if not mode or _needs_eager(model, run):
        return eager
    if mode == "auto":
        if model.current_device().type == "cuda" or compiler_problem() is not None:
            return eager
        return _AutoStep(model, compiled, eager, total_steps)
    return _kept_step(model, compiled, eager)


def _kept_step(model, compiled, eager) -> CompiledTrainStep:
    """The model's compiled step for this compile() (made once: later fits reuse its graph), bound to
    this run's eager step."""
    step = getattr(model, "_jit_train_step", None)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if step is None or step.compiled is not compiled or (step.names is not None and step.names != trainable):
        step = CompiledTrainStep(model, compiled, eager)
        object.__setattr__(model, "_jit_train_step", step)
    step.eager = eager
    return step


class _CompiledForward:
    """The inference forward pass of evaluate/predict, compiled, with the last batch padded."""

    def __init__(self, model):
        self.model = model
        self.compiler = _compiler_for(model)
        self.batch = None
        self.fn = None
        self.eager_only = False
        self.ran = False

    def _forward(self, x):
        pred = self.model(x, training=False)
        return pred, getattr(pred, "_keras_mask", None)

    def __call__(self, x, training=False):
        if self.compiler.failed or self.eager_only or training:
            return self.model(x, training=training)
        n = batch_size_of(x)
        if self.batch is None:
            self.batch = n
        if n > self.batch:
            return self.model(x, training=False)
        try:
            if self.fn is None:
                if any(_probe(self.model, x, training=False)):
                    # fused kernels are the work (nothing to compile); add_loss terms need the eager pass
                    self.eager_only = True
                    return self.model(x, training=False)
                forward = self._forward

                def infer(x):
                    return forward(x)

                self.fn = self.compiler.compile(infer)
            # Always a new tensor: a view of the caller's data and a padded copy differ in what
            # torch.compile guards on (made outside / inside inference mode), which would compile twice.
            batch = _pad(x, self.batch) if n < self.batch else pytree.tree_map(torch.clone, x)
            with torch.compiler.set_stance(skip_guard_eval_unsafe=self.ran):  # see CompiledTrainStep._run
                pred, mask = self.fn(batch)
            self.ran = True
        except Exception as error:  # noqa: BLE001
            self.compiler.fail(f"compiling the prediction step failed ({type(error).__name__}: {error})")
            return self.model(x, training=False)
        if n < self.batch:
            pred = _cut(pred, n)
            mask = None if mask is None else mask[:n]
        if mask is not None and isinstance(pred, torch.Tensor):
            pred._keras_mask = mask
        return pred


def inference_forward(model):
    """What evaluate/predict call on each batch: the model, or its compiled forward when
    ``jit_compile=True`` (kept on the model, so that later calls reuse the compiled graph)."""
    compiled = getattr(model, "compiled", None)
    if compiled is None or getattr(compiled, "jit_compile", False) is not True or _needs_eager(model, None):
        return model
    forward = getattr(model, "_jit_forward", None)
    if forward is None:
        forward = _CompiledForward(model)
        object.__setattr__(model, "_jit_forward", forward)
    return forward
