"""``lstmkit run``: Keras scripts run unchanged, and behave as under ``python script.py``.

The scripts below are written as Keras users write them (tf.keras, Keras 3, Keras 2 styles). Most run
in this process through ``run_script``; exit codes, argv and tracebacks are checked in real processes.
"""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lstmkit.run import aliases, run_script


@pytest.fixture
def isolated(monkeypatch):
    """Whatever a script run changes (argv, sys.path, __main__, the import hook) is put back."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    yield
    aliases.uninstall()


def _script(folder, name, body):
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


TF_KERAS = """
    import json
    import sys

    import numpy as np
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras.layers import LSTM, Dense
    from tensorflow.keras.models import Sequential

    tf.random.set_seed(7)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)

    sequence = np.arange(10) / 10.0
    X, y = sequence[:-1].reshape(9, 1, 1), sequence[1:]
    model = Sequential()
    model.add(LSTM(10, input_shape=(1, 1)))
    model.add(Dense(1))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse")
    model.fit(X, y, epochs=150, batch_size=9, verbose=0)
    loss = model.evaluate(tf.constant(X), tf.convert_to_tensor(y), verbose=0)

    if __name__ == "__main__":
        with open(sys.argv[1], "w") as out:  # relative to the working directory, as with python
            json.dump({"loss": loss, "argv": sys.argv, "file": __file__, "gpus": len(gpus)}, out)
"""


def test_a_tensorflow_keras_script_runs_unchanged(tmp_path, monkeypatch, isolated):
    script = _script(tmp_path, "tf_keras_script.py", TF_KERAS)
    monkeypatch.chdir(tmp_path)
    assert run_script(script, ["result.json"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["loss"] < 2e-3  # it learned: the five-step example's next-value task
    assert result["argv"] == [str(script), "result.json"] and result["file"] == str(script)


def test_an_import_keras_script_runs_unchanged(tmp_path, isolated):
    script = _script(
        tmp_path,
        "keras3_script.py",
        """
        import numpy as np
        import keras
        from keras import layers

        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input(shape=(4, 2)), layers.GRU(6), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x = np.random.default_rng(0).standard_normal((16, 4, 2)).astype("float32")
        model.fit(x, x.sum(axis=(1, 2)), epochs=2, verbose=0)
        np.save(__file__.replace(".py", ".npy"), model.predict(x, verbose=0))
        """,
    )
    assert run_script(script) == 0
    assert np.load(tmp_path / "keras3_script.npy").shape == (16, 1)


def test_a_keras2_script_with_from_keras_layers_runs_unchanged(tmp_path, isolated):
    script = _script(
        tmp_path,
        "keras2_script.py",
        """
        import numpy as np
        from keras.models import Sequential
        from keras.layers import Dense, Activation
        from keras.layers.recurrent import LSTM
        from keras.engine.topology import Layer
        from keras.utils.np_utils import to_categorical
        from keras.optimizers import SGD
        from keras.src.layers.rnn.lstm import LSTM as InternalLSTM

        assert InternalLSTM is LSTM


        class Doubling(Layer):  # a custom layer, Keras 2 style
            def call(self, inputs):
                return inputs * 2.0


        X = np.random.RandomState(0).rand(20, 3, 1)
        y = to_categorical((X.sum(axis=(1, 2)) > 1.5).astype(int))
        model = Sequential()
        model.add(LSTM(5, input_shape=(3, 1)))
        model.add(Doubling())
        model.add(Dense(2))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.1), metrics=["accuracy"])
        model.fit(X, y, nb_epoch=2, batch_size=5, verbose=0)
        print("classes", model.predict_classes(X).shape)
        """,
    )
    assert run_script(script) == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tf.data.Dataset.from_tensor_slices([1])", "has no tf.data.*Instead: pass NumPy arrays"),
        ("from tensorflow import GradientTape", "has no tf.GradientTape.*rewriting in PyTorch"),
        ("import tensorflow.compat.v1 as tf1", "has no tf.compat.*TensorFlow 1 code"),
        ("tf.random.set_sed(1)", "has no tf.random.set_sed.*Did you mean tf.random.set_seed"),
        ("tf.reduce_sum([1])", r"has no tf.reduce_sum: .*offers only tf.keras"),
        ("import keras.applications", "no counterpart of 'keras.applications'"),
        ("from keras import applications", "cannot import name 'applications' from 'lstmkit'"),
        ("from keras.layers import NoSuchLayer", "cannot import name 'NoSuchLayer'"),
    ],
)
def test_unsupported_tensorflow_and_keras_names_are_named(line, message, tmp_path, capsys, isolated):
    script = _script(tmp_path, "unsupported.py", f"import tensorflow as tf\n{line}\n")
    assert run_script(script) == 1
    error = capsys.readouterr().err
    assert error.startswith("Traceback (most recent call last):") and f'"{script}", line 2' in error
    assert re.search(message, error), error


def test_keras_names_resolve_to_lstmkit_modules():
    assert aliases.resolve("keras") == "lstmkit"
    assert aliases.resolve("tensorflow.keras.layers") == "lstmkit.layers"
    assert aliases.resolve("tf_keras.preprocessing.sequence") == "lstmkit.preprocessing.sequence"
    assert aliases.resolve("tensorflow.python.keras.callbacks") == "lstmkit.callbacks"
    assert aliases.resolve("keras.src.layers.rnn.lstm") == "lstmkit.layers.rnn.lstm"
    # Keras 2's module, kept as an alias
    assert aliases.resolve("keras.layers.merge") == "lstmkit.layers.merge"
    assert aliases.resolve("keras.optimizers.legacy") == "lstmkit.optimizers"
    assert aliases.resolve("numpy") is None
    with pytest.raises(ModuleNotFoundError, match="Did you mean keras.layers"):
        aliases.resolve("keras.layer")


PROCESS = """
    import os
    import sys

    import helper  # beside the script: the script's folder is first on sys.path
    from keras.layers import LSTM

    print("argv", sys.argv[1:], "name", __name__, "data", open("data.txt").read(), "helper", helper.VALUE)
    if sys.argv[1] == "fail":
        raise ValueError("the script failed")
    if sys.argv[1] == "message":
        sys.exit("stopped with a message")
    sys.exit(int(sys.argv[1]))
"""


def _process_files(tmp_path):
    scripts, work = tmp_path / "scripts", tmp_path / "work"
    scripts.mkdir()
    work.mkdir()
    (work / "data.txt").write_text("from-cwd")
    (scripts / "helper.py").write_text("VALUE = 42\n")
    return _script(scripts, "process_script.py", PROCESS), work


def test_exit_code_argv_and_files_behave_as_with_python(tmp_path):
    script, work = _process_files(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "lstmkit.run", str(script), "7", "two words", "--flag"],
        check=False,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 7, done.stderr
    assert "argv ['7', 'two words', '--flag'] name __main__ data from-cwd helper 42" in done.stdout


def test_an_uncaught_exception_prints_the_scripts_traceback_and_exits_1(tmp_path):
    script, work = _process_files(tmp_path)
    failed = subprocess.run(
        [sys.executable, "-m", "lstmkit.cli", "run", str(script), "fail"],
        check=False,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 10, in <module>' in failed.stderr
    assert failed.stderr.rstrip().endswith("ValueError: the script failed")
    assert "lstmkit/run" not in failed.stderr  # the runner's own frames are not shown


def test_sys_exit_reaches_the_interpreter_unchanged(tmp_path, monkeypatch, isolated):
    script, work = _process_files(tmp_path)
    monkeypatch.chdir(work)
    for argument, code in [("message", "stopped with a message"), ("0", 0), ("3", 3)]:
        with pytest.raises(SystemExit) as stopped:
            run_script(script, [argument])
        assert stopped.value.code == code
    assert run_script(tmp_path / "missing.py") == 2  # as python: "can't open file"
