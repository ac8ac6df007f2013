"""Run by the tests in two processes: ``python scenario.py NAME OUTDIR`` under torchrun (or the tests'
minimal launcher, which sets the same environment variables). Each process writes what it saw to
OUTDIR/NAME-rank<r>.json; the tests compare. Not collected by pytest (no test_ prefix).

Scenarios
    main            fit (padding step, validation_split, checkpoint, CSV, progress), a single-process reference
                    on rank 0, sample coverage for arrays and a Sequence, evaluate, predict, stateful refusal
    setup_failure   rank 1 passes x with a NaN: both processes must stop with rank 1's message
    train_failure   a Sequence fails on rank 1 in the second step: both processes must stop with its message
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback

import numpy as np
import torch

from lstmkit.callbacks import Callback, CSVLogger, ModelCheckpoint
from lstmkit.distributed import rank, world_size
from lstmkit.layers import LSTM, Dense
from lstmkit.layers.base import Layer
from lstmkit.models import Sequential
from lstmkit.utils import Sequence, set_random_seed

T, F, B = 5, 2, 8
RECORDED: dict[int, list[int]] = {}
EPOCH = [0]


class Recorder(Layer):
    """Strips the last feature (the sample id) and records the ids it trains on."""

    expected_ndim = 3

    def call(self, inputs, training=None):
        if training:
            RECORDED.setdefault(EPOCH[0], []).extend(int(v) for v in inputs[:, 0, -1].tolist())
        return inputs[..., :-1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] - 1,)


class EpochMark(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        EPOCH[0] = epoch


class Batches(Sequence):
    """``x`` and ``y`` in batches of ``size``; ``fail_on_rank``/``fail_at`` make one process's call fail."""

    def __init__(self, x, y, size, fail_on_rank=None, fail_at=None):
        super().__init__()
        self.x, self.y, self.size = x, y, size
        self.fail_on_rank, self.fail_at, self.calls = fail_on_rank, fail_at, 0

    def __len__(self):
        return math.ceil(len(self.x) / self.size)

    def __getitem__(self, i):
        self.calls += 1
        x = self.x[i * self.size : (i + 1) * self.size].copy()
        if rank() == self.fail_on_rank and self.calls == self.fail_at:
            x[0, 0, 0] = np.nan
        return x, self.y[i * self.size : (i + 1) * self.size]


def data(n, seed, ids=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, F)).astype("float32")
    y = (0.3 * x.sum(axis=(1, 2)) + 0.1)[:, None].astype("float32")
    if ids:
        x = np.concatenate(
            [x, np.broadcast_to(np.arange(n, dtype="float32")[:, None, None], (n, T, 1))], axis=-1
        )
    return x, y


def model(units=4, record=False, stateful=False, built=True):
    layers = [Recorder(**({"input_shape": (T, F + 1)} if built else {}))] if record else []
    if stateful:
        layers.append(LSTM(units, stateful=True, batch_input_shape=(B, T, F)))
    else:
        layers.append(LSTM(units, **({} if record else {"input_shape": (T, F)})))
    m = Sequential(layers + [Dense(1)])
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return m


def weights(m):
    return [w.tolist() for w in m.get_weights()]


def main(out, r, result):
    set_random_seed(100 + r)  # the processes start from different weights: fit must give all rank 0's
    x, y = data(62, 0)  # validation_split=0.2 keeps 49 = 3 x 16 + 1 for training: rank 1 pads the last step
    m = model()
    result["initial"] = weights(m)
    stdout = sys.stdout
    with open(os.path.join(out, f"stdout-rank{r}.txt"), "w") as captured:
        sys.stdout = captured
        try:
            history = m.fit(
                x,
                y,
                batch_size=B,
                epochs=3,
                shuffle=False,
                validation_split=0.2,
                verbose=1,
                callbacks=[
                    ModelCheckpoint(os.path.join(out, f"ckpt-rank{r}.keras")),
                    CSVLogger(os.path.join(out, f"log-rank{r}.csv")),
                ],
            )
        finally:
            sys.stdout = stdout
    result["history"] = history.history
    result["final"] = weights(m)
    if r == 0:  # the same global batch in this process alone, from the same (rank 0's) initial weights
        ref = model()
        ref.set_weights([np.asarray(w, dtype="float32") for w in result["initial"]])
        ref_history = ref.fit(
            x,
            y,
            batch_size=B * world_size(),
            epochs=3,
            shuffle=False,
            validation_split=0.2,
            verbose=0,
            distributed=False,
        )
        result["reference_history"] = ref_history.history
        result["reference_final"] = weights(ref)

    xv, yv = data(13, 5)
    result["evaluate"] = m.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    result["evaluate_local"] = m.evaluate(
        xv, yv, batch_size=4, verbose=0, return_dict=True, distributed=False
    )
    xp, _ = data(7, 6)
    result["predict"] = m.predict(xp, batch_size=2, verbose=0).tolist()
    result["predict_local"] = m.predict(xp, batch_size=2, verbose=0, distributed=False).tolist()
    result["predict_one"] = m.predict(xp[:1], verbose=0).tolist()  # fewer samples than processes

    # Every sample once per epoch: arrays (35 = 2 x 16 + 3, shuffled) and a Sequence (6 batches, shuffled).
    EPOCH[0] = 0
    xs, ys = data(35, 1, ids=True)
    model(record=True).fit(xs, ys, batch_size=B, epochs=2, verbose=0, callbacks=[EpochMark()])
    result["seen_arrays"] = {str(k): v for k, v in RECORDED.items()}
    RECORDED.clear()
    xs, ys = data(45, 2, ids=True)
    # An unbuilt model: the first batch builds it, then rank 0's weights are broadcast.
    lazy = model(record=True, built=False)
    lazy.fit(Batches(xs, ys, B), epochs=2, verbose=0, callbacks=[EpochMark()])
    result["sequence_final"] = weights(lazy)
    result["seen_sequence"] = {str(k): v for k, v in RECORDED.items()}
    RECORDED.clear()
    xs, ys = data(32, 3, ids=True)  # a DataLoader with a DistributedSampler: each process reads its own share
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(xs), torch.from_numpy(ys))
    sampler = torch.utils.data.distributed.DistributedSampler(dataset, seed=5)
    loader = torch.utils.data.DataLoader(dataset, batch_size=B, sampler=sampler)
    model(record=True).fit(loader, epochs=2, verbose=0, callbacks=[EpochMark()])
    result["seen_dataloader"] = {str(k): v for k, v in RECORDED.items()}

    graph_part(r, result)

    try:
        model(stateful=True).fit(x[:48], y[:48], batch_size=B, shuffle=False, verbose=0)
    except ValueError as error:
        result["stateful_error"] = str(error)
    try:  # the processes must be given the same data
        model().fit(x[: 40 - r], y[: 40 - r], batch_size=B, verbose=0)
    except ValueError as error:
        result["mismatch_error"] = str(error)


def graph_model():
    """Two inputs (a sequence, static features), two outputs (a value, a probability)."""
    import lstmkit as keras
    from lstmkit import layers

    seq, static = keras.Input((T, F), name="seq"), keras.Input((3,), name="static")
    merged = layers.concatenate([LSTM(4)(seq), Dense(2)(static)])
    m = keras.Model(
        [seq, static], {"value": Dense(1)(merged), "prob": Dense(1, activation="sigmoid")(merged)}
    )
    m.compile("adam", loss={"value": "mse", "prob": "binary_crossentropy"}, metrics={"prob": ["accuracy"]})
    return m


def graph_data(n, seed):
    x, y = data(n, seed)
    static = np.random.default_rng(seed + 50).normal(size=(n, 3)).astype("float32")
    return {"seq": x, "static": static}, {"value": y, "prob": (y > y.mean()).astype("float32")}


def graph_part(r, result):
    """The guarantees of the Sequential part, for a graph model with several inputs and outputs."""
    set_random_seed(200 + r)
    g = graph_model()
    result["graph_initial"] = weights(g)
    x, y = graph_data(37, 8)  # 37 = 2 x 2 x 8 + 5: a short last step
    history = g.fit(x, y, batch_size=B, epochs=2, shuffle=True, verbose=0)
    result["graph_history"], result["graph_final"] = history.history, weights(g)
    if r == 0:
        ref = graph_model()
        ref.set_weights([np.asarray(w, dtype="float32") for w in result["graph_initial"]])
        ref_history = ref.fit(
            x, y, batch_size=B * world_size(), epochs=2, shuffle=False, verbose=0, distributed=False
        )
        result["graph_reference_history"] = ref_history.history
    unshuffled = graph_model()
    unshuffled.set_weights([np.asarray(w, dtype="float32") for w in result["graph_initial"]])
    result["graph_unshuffled"] = unshuffled.fit(
        x, y, batch_size=B, epochs=2, shuffle=False, verbose=0
    ).history
    predicted = g.predict(x, batch_size=3, verbose=0)
    local = g.predict(x, batch_size=3, verbose=0, distributed=False)
    result["graph_predict"] = {k: v.tolist() for k, v in predicted.items()}
    result["graph_predict_local"] = {k: v.tolist() for k, v in local.items()}
    result["graph_evaluate"] = g.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    result["graph_evaluate_local"] = g.evaluate(
        x, y, batch_size=5, verbose=0, return_dict=True, distributed=False
    )


def setup_failure(out, r, result):
    x, y = data(32, 0)
    if r == 1:
        x[3, 1, 0] = np.nan
    model().fit(x, y, batch_size=B, epochs=1, verbose=0)


def train_failure(out, r, result):
    x, y = data(64, 0)
    model().fit(Batches(x, y, B, fail_on_rank=1, fail_at=2), epochs=2, verbose=0)


if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    r = rank()
    result: dict = {"rank": r, "world_size": world_size()}
    try:
        {"main": main, "setup_failure": setup_failure, "train_failure": train_failure}[name](out, r, result)
    except Exception as error:
        result["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "trace": traceback.format_exc(),
        }
        raise
    finally:
        with open(os.path.join(out, f"{name}-rank{r}.json"), "w") as f:
            json.dump(result, f)
