"""The bad-input catalogue (issue 13, item 9): one row per mistake a user makes, from defining a model to
loading a file. Each row gives the call, the exception type it must raise, and phrases its message must
contain: what was received, what was expected, how to fix it. Every row also checks that the error is
raised by lstmkit itself (not deep inside torch or NumPy)."""

import json
import os
import traceback

import numpy as np
import pytest

import lstmkit
from lstmkit import callbacks, layers, optimizers
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential, load_model, model_from_json
from lstmkit.preprocessing.sequence import TimeseriesGenerator, pad_sequences
from lstmkit.saving import ModelFileError
from lstmkit.utils import Sequence, set_random_seed, timeseries_dataset_from_array, to_categorical

from .edit import members, rewrite

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4, 2)).astype("float32")
Y = RNG.normal(size=(16, 1)).astype("float32")
TOKENS = RNG.integers(1, 10, size=(16, 5))


class Kit:
    """What a row may need: a temporary folder and fresh models."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path

    def path(self, name):
        return os.path.join(self.tmp, name)

    @staticmethod
    def model(compiled=True, loss="mse", out=1, activation=None, **lstm):
        m = Sequential([LSTM(3, input_shape=(4, 2), **lstm), Dense(out, activation=activation)])
        if compiled:
            m.compile("adam", loss)
        return m

    def saved(self, name="m.keras", **kwargs):
        m = self.model(**kwargs)
        m.fit(X, Y, epochs=1, verbose=0)
        path = self.path(name)
        m.save(path)
        return m, path

    def edited(self, change, document="model.json"):
        _, path = self.saved()
        config = json.loads(members(path)[document][0])
        change(config)
        return rewrite(path, self.path("edited.keras"), {document: json.dumps(config).encode()})

    def write(self, name, content):
        with open(self.path(name), "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return self.path(name)

    @staticmethod
    def fit(model, x=X, y=Y, loss="mse", **kwargs):
        if model.compiled is None:
            model.compile("adam", loss)
        return model.fit(x, y, verbose=0, **kwargs)

    def truncated(self, length):
        _, path = self.saved()
        with open(path, "r+b") as f:
            f.truncate(length)
        return path

    def a_file(self, name="afile"):
        with open(self.path(name), "w") as f:
            f.write("x")
        return self.path(name)


def _layer0(key, value):
    def change(config):
        config["config"]["layers"][0]["config"][key] = value

    return change


def _gen_x_only():
    while True:
        yield X[:4]


class _NoLen(Sequence):
    def __len__(self):
        return 0

    def __getitem__(self, i):
        return X[:4], Y[:4]


class _BadBatch(Sequence):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return (X[:4], Y[:4]) if i == 0 else (X[:4, :, :1], Y[:4])


def _compile_without_loss(t):
    model = t.model(compiled=False)
    model.compile("adam")
    return model.fit(X, Y, verbose=0)


def _save_with_bad_config(t):
    model = t.model()
    model.layers[1].get_config = lambda: {"x": object()}
    return model.save(t.path("m.keras"))


def _fit(**kwargs):
    return lambda t: t.model().fit(X, Y, verbose=0, **kwargs)


CASES = [
    # ------------------------------------------------------------------ define
    ("lstm units zero", lambda t: LSTM(0), ValueError, ["units", "positive integer", "Received: units=0"]),
    ("lstm units float", lambda t: LSTM(3.5), TypeError, ["units", "integer", "3.5", "float"]),
    ("lstm units string", lambda t: LSTM("8"), TypeError, ["units", "integer", "'8'", "str"]),
    ("dense units negative", lambda t: Dense(-2), ValueError, ["units", "positive integer", "-2"]),
    (
        "unknown activation",
        lambda t: Dense(2, activation="relux"),
        ValueError,
        ["relux", "Did you mean 'relu'"],
    ),
    (
        "activation config unknown",
        lambda t: Dense(2, activation={"class_name": "relux", "config": {}}),
        ValueError,
        ["relux", "Did you mean"],
    ),
    (
        "activation config empty",
        lambda t: Dense(2, activation={"config": {}}),
        ValueError,
        ["activation", "names no activation"],
    ),
    (
        "unknown initializer",
        lambda t: Dense(2, kernel_initializer="glorot_uniformm"),
        ValueError,
        ["glorot_uniformm", "Did you mean"],
    ),
    ("unknown regularizer", lambda t: Dense(2, kernel_regularizer="l3"), ValueError, ["l3", "regularizer"]),
    (
        "unknown kwarg",
        lambda t: LSTM(3, return_sequence=True),
        TypeError,
        ["return_sequence", "Did you mean 'return_sequences'"],
    ),
    ("dropout above one", lambda t: LSTM(3, dropout=1.5), ValueError, ["dropout", "1.5"]),
    ("dropout layer rate", lambda t: layers.Dropout(2.0), ValueError, ["rate", "between 0 and 1", "2.0"]),
    ("dropout seed negative", lambda t: layers.Dropout(0.5, seed=-1), ValueError, ["seed", ">= 0", "-1"]),
    (
        "input_shape twice",
        lambda t: LSTM(3, input_shape=(4, 2), input_dim=2),
        ValueError,
        ["only one of", "input_shape", "input_dim"],
    ),
    (
        "input_shape zero",
        lambda t: LSTM(3, input_shape=(0, 2)),
        ValueError,
        ["input_shape", "positive integers"],
    ),
    (
        "input_shape not tuple",
        lambda t: LSTM(3, input_shape="4,2"),
        (TypeError, ValueError),
        ["input_shape", "'4,2'"],
    ),
    (
        "1-D input_shape into LSTM",
        lambda t: Sequential([LSTM(3, input_shape=(4,))]),
        ValueError,
        ["expects 3-D input", "input_shape=(4, 1)"],
    ),
    (
        "stacked lstm no return_sequences",
        lambda t: Sequential([LSTM(3, input_shape=(4, 2)), LSTM(2)]),
        ValueError,
        ["return_sequences=True"],
    ),
    ("conv1d filters zero", lambda t: layers.Conv1D(0, 2), ValueError, ["filters", "positive integer", "0"]),
    ("conv1d bad padding", lambda t: layers.Conv1D(2, 2, padding="sames"), ValueError, ["sames", "same"]),
    ("pooling size zero", lambda t: layers.MaxPooling1D(0), ValueError, ["pool_size", "positive integer"]),
    (
        "embedding input_dim zero",
        lambda t: layers.Embedding(0, 4),
        ValueError,
        ["input_dim", "positive integer"],
    ),
    (
        "bidirectional merge mode",
        lambda t: layers.Bidirectional(LSTM(2), merge_mode="add"),
        ValueError,
        ["merge_mode", "'add'"],
    ),
    (
        "bidirectional of dense",
        lambda t: layers.Bidirectional(Dense(2)),
        (TypeError, ValueError),
        ["Bidirectional", "Dense"],
    ),
    ("masking value string", lambda t: layers.Masking("pad"), TypeError, ["mask_value", "number", "'pad'"]),
    (
        "batchnorm momentum",
        lambda t: layers.BatchNormalization(momentum=1.5),
        ValueError,
        ["momentum", "1.5"],
    ),
    ("reshape bad target", lambda t: layers.Reshape("ab"), (TypeError, ValueError), ["target_shape"]),
    ("repeat vector zero", lambda t: layers.RepeatVector(0), ValueError, ["n", "positive integer"]),
    ("layer name not string", lambda t: LSTM(3, name=5), TypeError, ["name", "string", "5"]),
    (
        "sequential of a non-layer",
        lambda t: Sequential([LSTM(3, input_shape=(4, 2)), "dense"]),
        TypeError,
        ["'dense'"],
    ),
    (
        "set_weights unbuilt model",
        lambda t: Sequential([LSTM(3), Dense(1)]).set_weights([np.zeros((2, 12))]),
        ValueError,
        ["not built yet", "model.build((None, timesteps, features))", "(2, 12)"],
    ),
    (
        "set_weights wrong count",
        lambda t: t.model().set_weights([np.zeros((2, 12))]),
        ValueError,
        ["weight arrays", "received 1"],
    ),
    (
        "set_weights wrong shape",
        lambda t: t.model().layers[1].set_weights([np.zeros((4, 1)), np.zeros(1)]),
        ValueError,
        ["(3, 1)", "(4, 1)"],
    ),
    ("get_layer unknown", lambda t: t.model().get_layer("dens"), ValueError, ["dens", "Its layers"]),
    # ------------------------------------------------------------------ compile
    (
        "unknown optimizer",
        lambda t: t.model(compiled=False).compile("adamm", "mse"),
        ValueError,
        ["adamm", "Did you mean 'adam'"],
    ),
    (
        "unknown loss",
        lambda t: t.model(compiled=False).compile("adam", "mean_squared_eror"),
        ValueError,
        ["mean_squared_eror", "Did you mean"],
    ),
    (
        "unknown metric",
        lambda t: t.model(compiled=False).compile("adam", "mse", metrics=["accuracyy"]),
        ValueError,
        ["accuracyy", "Did you mean"],
    ),
    (
        "compile unknown kwarg",
        lambda t: t.model(compiled=False).compile("adam", "mse", metric=["mae"]),
        TypeError,
        ["metric", "Did you mean 'metrics'"],
    ),
    (
        "jit_compile unknown",
        lambda t: t.model(compiled=False).compile("adam", "mse", jit_compile="yes"),
        ValueError,
        ["jit_compile", "True, False or 'auto'", "'yes'"],
    ),
    (
        "optimizer not an optimizer",
        lambda t: t.model(compiled=False).compile(3, "mse"),
        TypeError,
        ["optimizer", "3"],
    ),
    (
        "fit before compile",
        lambda t: t.model(compiled=False).fit(X, Y, verbose=0),
        RuntimeError,
        ["compile", "before calling fit"],
    ),
    (
        "evaluate before compile",
        lambda t: t.model(compiled=False).evaluate(X, Y, verbose=0),
        RuntimeError,
        ["compile", "evaluate"],
    ),
    (
        "compiled without loss",
        _compile_without_loss,
        ValueError,
        ["without a loss", "loss="],
    ),
    (
        "negative learning rate",
        lambda t: optimizers.Adam(learning_rate=-0.1),
        ValueError,
        ["learning_rate", "-0.1"],
    ),
    (
        "lr string",
        lambda t: optimizers.SGD(learning_rate="fast"),
        (TypeError, ValueError),
        ["learning_rate", "'fast'"],
    ),
    # ------------------------------------------------------------------ fit: arguments
    (
        "batch_size zero",
        _fit(batch_size=0),
        ValueError,
        ["batch_size", "positive integer", "Received: batch_size=0"],
    ),
    ("batch_size float", _fit(batch_size=8.0), TypeError, ["batch_size", "8.0", "Use batch_size=8"]),
    ("batch_size string", _fit(batch_size="32"), TypeError, ["batch_size", "'32'"]),
    ("epochs negative", _fit(epochs=-1), ValueError, ["epochs", ">= 0", "-1"]),
    ("epochs float", _fit(epochs=2.5), TypeError, ["epochs", "2.5"]),
    ("initial_epoch negative", _fit(initial_epoch=-2), ValueError, ["initial_epoch", "-2"]),
    ("steps_per_epoch zero", _fit(steps_per_epoch=0), ValueError, ["steps_per_epoch", "positive integer"]),
    (
        "steps_per_epoch too many",
        _fit(steps_per_epoch=50, batch_size=8),
        ValueError,
        ["steps=50", "2 batches"],
    ),
    (
        "verbose 3",
        lambda t: t.model().fit(X, Y, verbose=3),
        ValueError,
        ["verbose", "0, 1, 2 or 'auto'", "3"],
    ),
    ("shuffle string", _fit(shuffle="yes"), ValueError, ["shuffle", "True, False or 'batch'", "'yes'"]),
    ("validation_split one", _fit(validation_split=1.0), ValueError, ["validation_split", "[0, 1)"]),
    (
        "validation_split leaves nothing",
        lambda t: t.model().fit(X[:1], Y[:1], validation_split=0.5, verbose=0),
        ValueError,
        ["validation_split", "no training"],
    ),
    (
        "validation_freq zero",
        _fit(validation_data=(X, Y), validation_freq=0),
        ValueError,
        ["validation_freq", "positive integer"],
    ),
    ("unknown fit kwarg", _fit(epoch=3), TypeError, ["epoch", "Did you mean 'epochs'"]),
    ("callbacks not callbacks", _fit(callbacks=[lambda: None]), TypeError, ["Callback", "Received"]),
    (
        "callbacks a string",
        _fit(callbacks="early"),
        TypeError,
        ["list of lstmkit.callbacks.Callback", "'early'"],
    ),
    (
        "use_multiprocessing with arrays",
        _fit(use_multiprocessing=True),
        ValueError,
        ["use_multiprocessing", "Sequence"],
    ),
    ("distributed bad value", _fit(distributed="yes"), ValueError, ["distributed", "'auto', True or False"]),
    ("distributed true alone", _fit(distributed=True), ValueError, ["torchrun", "distributed='auto'"]),
    # ------------------------------------------------------------------ fit: data
    ("y missing", lambda t: t.model().fit(X, verbose=0), ValueError, ["targets", "y=None"]),
    ("x none", lambda t: t.model().fit(None, Y, verbose=0), (TypeError, ValueError), ["x", "None"]),
    (
        "2-D x into LSTM",
        lambda t: t.model().fit(X[:, :, 0], Y, verbose=0),
        ValueError,
        ["expects 3-D input", "X.reshape((16, 4, 1))"],
    ),
    ("4-D x", lambda t: t.model().fit(X[..., None], Y, verbose=0), ValueError, ["4-D", "(16, 4, 2, 1)"]),
    (
        "wrong feature count",
        lambda t: t.model().fit(X[:, :, :1], Y, verbose=0),
        ValueError,
        ["(16, 4, 1)", "input_shape=(4, 1)"],
    ),
    (
        "x and y lengths differ",
        lambda t: t.model().fit(X, Y[:10], verbose=0),
        ValueError,
        ["different numbers of samples", "16", "10"],
    ),
    (
        "y too wide",
        lambda t: t.model().fit(X, np.zeros((16, 3)), verbose=0),
        ValueError,
        ["(None, 1)", "(16, 3)"],
    ),
    (
        "nan in x",
        lambda t: t.model().fit(np.where(X > 1.5, np.nan, X), Y, verbose=0),
        ValueError,
        ["NaN or infinite", "first is nan", "dropna"],
    ),
    (
        "inf in y",
        lambda t: t.model().fit(X, np.where(Y > 1, np.inf, Y), verbose=0),
        ValueError,
        ["y", "NaN or infinite"],
    ),
    (
        "string x",
        lambda t: t.model().fit(np.array([["a"] * 2] * 16), Y, verbose=0),
        TypeError,
        ["dtype", "strings", "numbers"],
    ),
    (
        "object x",
        lambda t: t.model().fit(np.array([None] * 16, dtype=object), Y, verbose=0),
        TypeError,
        ["Python objects"],
    ),
    (
        "ragged list",
        lambda t: t.model().fit([[1, 2], [1]], [1, 2], verbose=0),
        ValueError,
        ["different lengths", "pad_sequences"],
    ),
    ("complex x", lambda t: t.model().fit(X.astype(np.complex64), Y, verbose=0), TypeError, ["complex"]),
    (
        "empty x",
        lambda t: t.model().fit(np.zeros((0, 4, 2)), np.zeros((0, 1)), verbose=0),
        ValueError,
        ["empty", "(0, 4, 2)"],
    ),
    ("scalar x", lambda t: t.model().fit(3.0, Y, verbose=0), ValueError, ["single number"]),
    ("dict x", lambda t: t.model().fit({"a": X}, Y, verbose=0), (TypeError, ValueError), ["dict"]),
    (
        "sample_weight length",
        lambda t: t.model().fit(X, Y, sample_weight=np.ones(3), verbose=0),
        ValueError,
        ["sample_weight", "3", "16"],
    ),
    (
        "categorical with int labels",
        lambda t: t.model(loss="categorical_crossentropy", out=3, activation="softmax").fit(
            X, np.zeros(16), verbose=0
        ),
        ValueError,
        ["sparse_categorical_crossentropy", "to_categorical"],
    ),
    (
        "sparse labels fractional",
        lambda t: t.model(loss="sparse_categorical_crossentropy", out=3, activation="softmax").fit(
            X, np.full(16, 1.5), verbose=0
        ),
        ValueError,
        ["fractional", "1.5", "categorical_crossentropy"],
    ),
    (
        "sparse labels out of range",
        lambda t: t.model(loss="sparse_categorical_crossentropy", out=3, activation="softmax").fit(
            X, np.full(16, 7), verbose=0
        ),
        ValueError,
        ["[0, 2]", "7"],
    ),
    (
        "binary labels out of range",
        lambda t: t.model(loss="binary_crossentropy", activation="sigmoid").fit(
            X, np.full((16, 1), 3.0), verbose=0
        ),
        ValueError,
        ["binary_crossentropy", "[0, 1]", "3"],
    ),
    (
        "embedding id too large",
        lambda t: t.fit(
            Sequential([layers.Embedding(10, 3, input_length=5), LSTM(2), Dense(1)]), TOKENS + 20
        ),
        ValueError,
        ["input_dim", "10"],
    ),
    (
        "embedding fractional ids",
        lambda t: t.fit(
            Sequential([layers.Embedding(10, 3, input_length=5), LSTM(2), Dense(1)]), TOKENS + 0.5
        ),
        ValueError,
        ["integer ids", "fractional"],
    ),
    (
        "stateful batch mismatch",
        lambda t: t.fit(
            Sequential([LSTM(2, stateful=True, batch_input_shape=(4, 4, 2)), Dense(1)]),
            X[:10],
            Y[:10],
            batch_size=4,
        ),
        ValueError,
        ["stateful", "x[:8]"],
    ),
    (
        "return_sequences with 2-D y",
        lambda t: t.fit(Sequential([LSTM(3, return_sequences=True, input_shape=(4, 2)), Dense(1)])),
        ValueError,
        ["return_sequences=False"],
    ),
    # ------------------------------------------------------------------ fit: validation data
    (
        "validation_data one item",
        _fit(validation_data=(X,)),
        ValueError,
        ["validation_data", "(x_val, y_val)"],
    ),
    (
        "validation_data features",
        _fit(validation_data=(X[:, :, :1], Y)),
        ValueError,
        ["validation_data", "(16, 4, 1)"],
    ),
    (
        "validation_data lengths",
        _fit(validation_data=(X, Y[:5])),
        ValueError,
        ["validation_data", "different numbers of samples"],
    ),
    (
        "validation_data 2-D",
        _fit(validation_data=(X[:, :, 0], Y)),
        ValueError,
        ["validation_data", "expects 3-D input"],
    ),
    (
        "validation_data nan",
        _fit(validation_data=(np.full_like(X, np.nan), Y)),
        ValueError,
        ["validation_data", "NaN"],
    ),
    (
        "validation_data wide y",
        _fit(validation_data=(X, np.zeros((16, 4)))),
        ValueError,
        ["validation_data", "(16, 4)"],
    ),
    # ------------------------------------------------------------------ generators and sequences
    (
        "generator x only",
        lambda t: t.model().fit(_gen_x_only(), steps_per_epoch=2, verbose=0),
        ValueError,
        ["x only", "(x, y)"],
    ),
    (
        "generator with y argument",
        lambda t: t.model().fit(_gen_x_only(), Y, steps_per_epoch=2, verbose=0),
        ValueError,
        ["generator or a Sequence", "leave y"],
    ),
    (
        "generator with validation_split",
        lambda t: t.model().fit(_gen_x_only(), steps_per_epoch=2, validation_split=0.2, verbose=0),
        ValueError,
        ["validation_split", "validation_data"],
    ),
    (
        "sequence of length zero",
        lambda t: t.model().fit(_NoLen(), verbose=0),
        ValueError,
        ["no batches", "len()"],
    ),
    (
        "sequence batch features change",
        lambda t: t.model().fit(_BadBatch(), verbose=0, shuffle=False),
        ValueError,
        ["batch 1", "features"],
    ),
    (
        "generator yields a dict",
        lambda t: t.model().fit(iter([{"x": X}]), steps_per_epoch=1, verbose=0),
        (TypeError, ValueError),
        ["dict of inputs", "not a graph model", "Pass one array"],
    ),
    (
        "generator yields 4 items",
        lambda t: t.model().fit(iter([(X, Y, Y, Y)]), steps_per_epoch=1, verbose=0),
        ValueError,
        ["4 items", "(x, y, sample_weight)"],
    ),
    # ------------------------------------------------------------------ evaluate / predict
    (
        "evaluate y missing",
        lambda t: t.model().evaluate(X, verbose=0),
        ValueError,
        ["evaluate needs targets"],
    ),
    (
        "evaluate steps zero",
        lambda t: t.model().evaluate(X, Y, steps=0, verbose=0),
        ValueError,
        ["steps", "positive integer"],
    ),
    (
        "evaluate generator x only",
        lambda t: t.model().evaluate(_gen_x_only(), steps=1, verbose=0),
        ValueError,
        ["x only", "evaluate needs targets"],
    ),
    (
        "predict nan",
        lambda t: t.model().predict(np.full((2, 4, 2), np.nan), verbose=0),
        ValueError,
        ["NaN", "nan_to_num"],
    ),
    (
        "predict wrong features",
        lambda t: t.model().predict(X[:, :, :1], verbose=0),
        ValueError,
        ["(16, 4, 1)"],
    ),
    (
        "predict batch_size zero",
        lambda t: t.model().predict(X, batch_size=0, verbose=0),
        ValueError,
        ["batch_size", "positive integer"],
    ),
    (
        "predict unknown kwarg",
        lambda t: t.model().predict(X, batch=8),
        TypeError,
        ["batch", "Did you mean 'batch_size'"],
    ),
    ("predict 2-D", lambda t: t.model().predict(X[:, :, 0], verbose=0), ValueError, ["expects 3-D input"]),
    # ------------------------------------------------------------------ callbacks
    (
        "early stopping patience negative",
        lambda t: callbacks.EarlyStopping(patience=-1),
        ValueError,
        ["patience", ">= 0", "-1"],
    ),
    (
        "early stopping patience float",
        lambda t: callbacks.EarlyStopping(patience=2.0),
        TypeError,
        ["patience", "Use patience=2"],
    ),
    (
        "early stopping bad mode",
        lambda t: callbacks.EarlyStopping(mode="minimum"),
        ValueError,
        ["minimum", "Did you mean 'min'"],
    ),
    (
        "early stopping monitor not a string",
        lambda t: callbacks.EarlyStopping(monitor=3),
        TypeError,
        ["monitor", "3"],
    ),
    (
        "reduce lr factor one",
        lambda t: callbacks.ReduceLROnPlateau(factor=1.0),
        ValueError,
        ["factor", "< 1", "1.0"],
    ),
    (
        "checkpoint save_freq",
        lambda t: callbacks.ModelCheckpoint(t.path("c.keras"), save_freq="batch"),
        ValueError,
        ["save_freq", "'epoch'", "'batch'"],
    ),
    (
        "checkpoint save_freq zero",
        lambda t: callbacks.ModelCheckpoint(t.path("c.keras"), save_freq=0),
        ValueError,
        ["save_freq", "positive integer"],
    ),
    (
        "checkpoint path under a file",
        lambda t: t.model().fit(
            X, Y, verbose=0, callbacks=[callbacks.ModelCheckpoint(os.path.join(t.a_file(), "c.keras"))]
        ),
        NotADirectoryError,
        ["ModelCheckpoint", "afile", "is a file, not a directory"],
    ),
    (
        "checkpoint path is a directory",
        lambda t: t.model().fit(X, Y, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(t.tmp))]),
        IsADirectoryError,
        ["ModelCheckpoint", "is a directory"],
    ),
    (
        "checkpoint unknown field",
        lambda t: t.model().fit(
            X,
            Y,
            verbose=0,
            callbacks=[callbacks.ModelCheckpoint(t.path("c-{val_los:.2f}.keras"), monitor="loss")],
        ),
        ValueError,
        ["val_los", "available"],
    ),
    (
        "csv logger under a file",
        lambda t: t.model().fit(
            X, Y, verbose=0, callbacks=[callbacks.CSVLogger(os.path.join(t.a_file(), "log.csv"))]
        ),
        NotADirectoryError,
        ["CSVLogger", "afile"],
    ),
    (
        "csv logger separator",
        lambda t: callbacks.CSVLogger(t.path("l.csv"), separator=";;"),
        ValueError,
        ["separator", "single character"],
    ),
    (
        "tensorboard dir is a file",
        lambda t: t.model().fit(X, Y, verbose=0, callbacks=[callbacks.TensorBoard(t.a_file())]),
        NotADirectoryError,
        ["TensorBoard", "is a file"],
    ),
    (
        "scheduler returns a string",
        lambda t: t.model().fit(
            X, Y, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "x")]
        ),
        ValueError,
        ["schedule", "finite number", "'x'"],
    ),
    (
        "scheduler not callable",
        lambda t: callbacks.LearningRateScheduler(0.1),
        TypeError,
        ["schedule", "function"],
    ),
    (
        "lambda callback unknown hook",
        lambda t: callbacks.LambdaCallback(on_epoch_ends=print),
        TypeError,
        ["on_epoch_ends", "Did you mean 'on_epoch_end'"],
    ),
    # ------------------------------------------------------------------ saving
    (
        "save under a file",
        lambda t: t.model().save(os.path.join(t.a_file(), "m.keras")),
        NotADirectoryError,
        ["Cannot save to", "m.keras", "is a file, not a directory"],
    ),
    (
        "save to a directory",
        lambda t: t.model().save(str(t.tmp)),
        IsADirectoryError,
        ["is a directory", "model.keras"],
    ),
    (
        "save overwrite false",
        lambda t: t.model().save(t.saved()[1], overwrite=False),
        FileExistsError,
        ["already exists", "overwrite=True"],
    ),
    (
        "save tf options",
        lambda t: t.model().save(t.path("m.keras"), signatures={}),
        ValueError,
        ["signatures", "TensorFlow"],
    ),
    (
        "save unknown kwarg",
        lambda t: t.model().save(t.path("m.keras"), include_optimiser=False),
        TypeError,
        ["include_optimiser", "Did you mean 'include_optimizer'"],
    ),
    (
        "save_weights unknown kwarg",
        lambda t: t.model().save_weights(t.path("w.keras"), overwite=True),
        TypeError,
        ["overwite", "overwrite"],
    ),
    (
        "save bad config value",
        lambda t: _save_with_bad_config(t),
        TypeError,
        ["Cannot save a value of type object", "get_config"],
    ),
    # ------------------------------------------------------------------ loading
    (
        "load missing path",
        lambda t: (t.saved("model1.keras"), load_model(t.path("modle1.keras"))),
        FileNotFoundError,
        ["No such file", "Did you mean", "model1.keras"],
    ),
    (
        "load empty file",
        lambda t: (open(t.path("e.keras"), "w").close(), load_model(t.path("e.keras"))),
        ModelFileError,
        ["empty (0 bytes)"],
    ),
    ("load a directory", lambda t: load_model(str(t.tmp)), ModelFileError, ["is a directory"]),
    (
        "load text",
        lambda t: load_model(t.write("t.keras", "hello")),
        ModelFileError,
        ["not an lstmkit model file"],
    ),
    (
        "load json architecture",
        lambda t: load_model(t.write("a.json", t.model().to_json())),
        ModelFileError,
        ["model_from_json"],
    ),
    (
        "load hdf5",
        lambda t: load_model(t.write("k.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64)),
        ModelFileError,
        ["HDF5"],
    ),
    (
        "load pickle",
        lambda t: load_model(t.write("p.pkl", b"\x80\x04N.")),
        ModelFileError,
        ["pickle", "arbitrary code"],
    ),
    (
        "load npz",
        lambda t: (np.savez(t.path("w.npz"), a=np.ones(2)), load_model(t.path("w.npz"))),
        ModelFileError,
        ["NumPy .npz"],
    ),
    (
        "load truncated",
        lambda t: load_model(t.truncated(300)),
        ModelFileError,
        ["truncated"],
    ),
    (
        "load weights-only file",
        lambda t: (t.model().save_weights(t.path("w.keras")), load_model(t.path("w.keras"))),
        ModelFileError,
        ["holds only weights", "load_weights"],
    ),
    (
        "load renamed compile.json",
        lambda t: load_model(
            rewrite(t.saved()[1], t.path("r.keras"), rename={"compile.json": "compile.bson"}, relist=False)
        ),
        ModelFileError,
        ["compile.json", "missing", "compile.bson"],
    ),
    (
        "load unknown activation",
        lambda t: load_model(t.edited(_layer0("activation", {"class_name": "relux", "config": {}}))),
        ModelFileError,
        ["relux", "Did you mean 'relu'"],
    ),
    (
        "load absurd units",
        lambda t: load_model(t.edited(_layer0("units", 10**4000))),
        ModelFileError,
        ["absurd number", "units"],
    ),
    (
        "load units larger than file",
        lambda t: load_model(t.edited(_layer0("units", 30_000))),
        ModelFileError,
        ["asks for", "weight values", "file holds only"],
    ),
    (
        "load huge learning rate",
        lambda t: load_model(
            t.edited(lambda c: c["optimizer"]["config"].update(learning_rate=1e300), "compile.json")
        ),
        ModelFileError,
        ["compile.json", "float32"],
    ),
    (
        "load unknown layer class",
        lambda t: load_model(t.edited(lambda c: c["config"]["layers"][0].update(class_name="MyLSTM"))),
        ModelFileError,
        ["MyLSTM", "custom_objects"],
    ),
    (
        "load custom_objects not dict",
        lambda t: load_model(t.saved()[1], custom_objects=[1]),
        TypeError,
        ["custom_objects", "dict"],
    ),
    (
        "load unknown kwarg",
        lambda t: load_model(t.saved()[1], compiled=False),
        TypeError,
        ["compiled", "Did you mean 'compile'"],
    ),
    (
        "load_weights other architecture",
        lambda t: (
            t.model().save_weights(t.path("w.keras")),
            Sequential([layers.GRU(3, input_shape=(4, 2)), Dense(1)]).load_weights(t.path("w.keras")),
        ),
        ValueError,
        ["gru", "shape"],
    ),
    (
        "load_weights more layers",
        lambda t: (
            t.model().save_weights(t.path("w.keras")),
            Sequential([LSTM(3, input_shape=(4, 2)), Dense(2), Dense(1)]).load_weights(t.path("w.keras")),
        ),
        ValueError,
        ["2 layer(s)", "3 layer(s)", "by_name=True"],
    ),
    (
        "load_weights by_name matches nothing",
        lambda t: (
            t.model().save_weights(t.path("w.keras")),
            t.model().load_weights(t.path("w.keras"), by_name=True),
        ),
        ValueError,
        ["matched no layer", "built twice"],
    ),
    (
        "load_weights unbuilt, no shape",
        lambda t: (
            Sequential([Dense(2)]).save_weights(t.path("w.keras")),
            Sequential([Dense(2)]).load_weights(t.path("w.keras")),
        ),
        ValueError,
        ["not built", "input shape"],
    ),
    (
        "model_from_json not json",
        lambda t: model_from_json("{nope"),
        ValueError,
        ["not valid JSON", "to_json()"],
    ),
    ("model_from_json a number", lambda t: model_from_json(3), TypeError, ["JSON string"]),
    # ------------------------------------------------------------------ data tools
    ("pad_sequences maxlen", lambda t: pad_sequences([[1, 2]], maxlen=-1), ValueError, ["maxlen", ">= 0"]),
    (
        "pad_sequences padding",
        lambda t: pad_sequences([[1, 2]], padding="middle"),
        ValueError,
        ["padding", "'middle'"],
    ),
    ("to_categorical negative", lambda t: to_categorical([-1, 2]), ValueError, ["-1"]),
    ("to_categorical fractional", lambda t: to_categorical([0.5, 1]), ValueError, ["0.5"]),
    (
        "timeseries generator length",
        lambda t: TimeseriesGenerator(np.arange(10.0), np.arange(10.0), length=0),
        ValueError,
        ["length", "positive integer"],
    ),
    (
        "timeseries generator too short",
        lambda t: TimeseriesGenerator(np.arange(3.0), np.arange(3.0), length=5),
        ValueError,
        ["length", "5"],
    ),
    (
        "timeseries dataset float length",
        lambda t: timeseries_dataset_from_array(np.arange(10.0), None, sequence_length=3.0),
        TypeError,
        ["sequence_length", "Use sequence_length=3"],
    ),
    ("set_random_seed negative", lambda t: set_random_seed(-1), ValueError, ["seed", ">= 0", "-1"]),
    ("set_random_seed string", lambda t: set_random_seed("1"), TypeError, ["seed", "'1'"]),
    (
        "make_windows lookback zero",
        lambda t: lstmkit.utils.make_windows(np.arange(10.0), 0),
        ValueError,
        ["lookback", "positive integer"],
    ),
]


def _ids():
    return [case[0] for case in CASES]


@pytest.mark.parametrize("name, call, expected, phrases", CASES, ids=_ids())
def test_bad_input(tmp_path, name, call, expected, phrases):
    with pytest.raises(expected) as info:
        call(Kit(tmp_path))
    message = str(info.value)
    missing = [p for p in phrases if p not in message]
    assert not missing, f"{name}: {missing} not in: {message}"
    # Raised by lstmkit's own checks, not by torch or NumPy deep inside.
    origin = traceback.extract_tb(info.tb)[-1].filename
    assert os.sep + "lstmkit" + os.sep in origin, (name, origin, message)


def test_the_catalogue_has_at_least_100_rows():
    assert len(CASES) >= 100 and len(set(_ids())) == len(CASES)
