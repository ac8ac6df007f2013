"""compile(jit_compile=True): compiled training and prediction equal eager's, nothing is compiled twice,
and a missing C++ compiler falls back to eager with one warning.

Cold compiles take tens of seconds, so one masked model compiled once for the whole module covers the
step-loop configurations (Masking -> Bidirectional LSTM -> GRU -> relu LSTM, each running its step loop
inside one whole-step graph), and a fused model (tanh LSTM and GRU on their fused kernels, which stay
eager) checks that those run unchanged.
"""

import warnings

import numpy as np
import pytest
import torch

from lstmkit.layers import GRU, LSTM, Bidirectional, Dense, Masking
from lstmkit.models import Sequential
from lstmkit.training import compiled as jit
from lstmkit.utils import set_random_seed

pytestmark = [
    pytest.mark.skipif(jit.compiler_problem() is not None, reason="no C++ compiler for inductor"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

SAMPLES, BATCH, STEPS, FEATURES = 20, 8, 5, 3  # 3 batches per epoch, the last of 4 samples


@pytest.fixture(scope="module", autouse=True)
def _one_graph_per_function():
    """torch.compile's limit of graphs per function set to 1: every model compiled here (several of the
    same architecture) must get a cache of its own, or the second one would silently run eagerly."""
    import torch._dynamo.config as dynamo_config

    with dynamo_config.patch(recompile_limit=1):
        yield


def _fused_model():
    return Sequential(
        [
            Bidirectional(LSTM(4, return_sequences=True), input_shape=(STEPS, FEATURES)),  # fused LSTM
            GRU(4),  # fused GRU
            Dense(1),
        ]
    )


def _masked_model():
    return Sequential(
        [
            Masking(0.0, input_shape=(STEPS, FEATURES)),
            Bidirectional(LSTM(4, return_sequences=True)),  # tanh LSTM, both directions, masked
            GRU(4, return_sequences=True),
            LSTM(3, activation="relu"),
            Dense(2),
        ]
    )


def _data(outputs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, STEPS, FEATURES)).astype("float32")
    x[::3, :2] = 0.0  # masked leading timesteps (only the masked model reads them as such)
    y = rng.normal(size=(SAMPLES, outputs)).astype("float32")
    return x, y


def _twins(make, outputs):
    """An eager and a compiled model with the same initial weights, each fit for 3 epochs."""
    x, y = _data(outputs)
    models = {}
    for flag in (False, True):
        set_random_seed(7)
        model = make()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=flag)
        history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        graphs_after_one_epoch = model._jit_train_step.graphs if flag else None
        history2 = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
        models[flag] = (model, history.history, history2.history, graphs_after_one_epoch)
    return x, y, models


@pytest.fixture(scope="module", params=["fused", "masked"])
def twins(request):
    make, outputs = {"fused": (_fused_model, 1), "masked": (_masked_model, 2)}[request.param]
    return request.param, *_twins(make, outputs)


def test_compiled_training_equals_eager(twins):
    kind, _, _, models = twins
    (eager, h1, h2, _), (fast, c1, c2, _) = models[False], models[True]
    for a, b in zip(eager.get_weights(), fast.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(c1[key] + c2[key], h1[key] + h2[key], rtol=1e-5)
    step = fast._jit_train_step
    assert step.whole is (kind == "masked")  # the fused model's kernels run eagerly


def test_nothing_recompiles_across_epochs_fits_or_the_last_batch(twins):
    kind, _, _, models = twins
    fast, _, _, after_one_epoch = models[True]
    step = fast._jit_train_step
    if kind == "fused":
        assert step.graphs == 0
        return
    assert after_one_epoch == 1  # the whole step is one graph, compiled (and counted) in the first epoch
    assert step.graphs == 1  # 3 more epochs, a second fit and 2 padded last batches: nothing new


def test_compiled_prediction_and_evaluation_equal_eager(twins):
    kind, x, y, models = twins
    eager, fast = models[False][0], models[True][0]
    fast.set_weights(eager.get_weights())
    expected = eager.predict(x, batch_size=BATCH, verbose=0)
    graphs = fast._jit_train_step.graphs
    np.testing.assert_allclose(fast.predict(x, batch_size=BATCH, verbose=0), expected, atol=1e-5)
    after_first_predict = fast._jit_train_step.graphs
    assert after_first_predict == graphs + (kind == "masked")  # one inference graph; none with fused kernels
    np.testing.assert_allclose(fast.predict(x[:13], batch_size=BATCH, verbose=0), expected[:13], atol=1e-5)
    np.testing.assert_allclose(
        fast.evaluate(x, y, batch_size=BATCH, verbose=0),
        eager.evaluate(x, y, batch_size=BATCH, verbose=0),
        rtol=1e-5,
    )
    assert fast._jit_train_step.graphs == after_first_predict  # other last batches and evaluate: none new


def test_a_missing_compiler_falls_back_to_eager_with_one_warning(monkeypatch):
    """No C++ compiler on the PATH (inductor finds none): one warning, then eager results."""
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(jit, "_warned", set())
    with inductor_config.patch({"cpp.cxx": ("no-such-compiler-g++",)}):
        _fit_without_compiler()


def _fit_without_compiler():
    assert jit.compiler_problem() is not None
    x, y = _data(1)
    results = []
    for flag in (False, True):
        set_random_seed(3)
        model = Sequential([LSTM(3, activation="relu", input_shape=(STEPS, FEATURES)), Dense(1)])
        model.compile(optimizer="adam", loss="mse", jit_compile=flag)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
            model.predict(x, verbose=0)
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        messages = [str(w.message) for w in caught if "jit_compile" in str(w.message)]
        results.append(model.get_weights())
        if flag:
            assert len(messages) == 1 and "no C++ compiler" in messages[0], messages
            assert model._jit_train_step.graphs == 0
        else:
            assert messages == []
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_failing_compilation_falls_back_to_eager(monkeypatch):
    """Any error while compiling (here: the compiler backend raises) means one warning and eager steps."""
    monkeypatch.setattr(jit, "_warned", set())

    def broken(*args, **kwargs):
        raise RuntimeError("simulated inductor failure")

    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: broken)
    x, y = _data(1)
    model = Sequential([LSTM(3, activation="relu", input_shape=(STEPS, FEATURES)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    with pytest.warns(RuntimeWarning, match="simulated inductor failure"):
        history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_jit_compile_values():
    model = Sequential([Dense(1, input_shape=(2,))])
    for value in (None, False, True, "auto"):
        model.compile(optimizer="adam", loss="mse", jit_compile=value)
        assert model.compiled.jit_compile == (value or False)
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        model.compile(optimizer="adam", loss="mse", jit_compile="xla")


def test_auto_compiles_only_long_step_loop_runs(monkeypatch):
    """'auto' times the first eager steps; a run estimated to take long enough switches to the compiled
    step (here the threshold is lowered to 0 s), a short one and a fused-kernel one stay eager."""
    x, y = _data(2)
    monkeypatch.setattr(jit, "AUTO_PROBE_STEPS", 2)
    results = {}
    for threshold in (0.0, 1e9):
        monkeypatch.setattr(jit, "AUTO_MIN_SECONDS", threshold)
        set_random_seed(7)
        model = _masked_model()
        model.compile(optimizer="adam", loss="mse", jit_compile="auto")
        model.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0)
        step = getattr(model, "_jit_train_step", None)
        results[threshold] = (model.get_weights(), None if step is None else step.graphs)
    assert results[0.0][1] >= 1  # switched to the compiled step
    assert results[1e9][1] is None  # stayed eager
    for a, b in zip(results[0.0][0], results[1e9][0]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    monkeypatch.setattr(jit, "AUTO_MIN_SECONDS", 0.0)
    fused = _fused_model()
    fused.compile(optimizer="adam", loss="mse", jit_compile="auto")
    fused.fit(*_data(1), batch_size=BATCH, epochs=2, verbose=0)
    assert getattr(fused, "_jit_train_step", None) is None  # fused kernels: compiling gains little
