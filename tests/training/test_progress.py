"""What fit/evaluate/predict print for each verbose setting, in a pipe and on a live display."""

import io
import re

import numpy as np
import pytest

from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential
from lstmkit.training.progress import Progbar, format_value


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def model():
    m = Sequential([LSTM(3, input_shape=(2, 1)), Dense(1)])
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return m


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 2, 1)), rng.normal(size=(30, 1))


def test_verbose_0_prints_nothing(model, data, capsys):
    model.fit(*data, epochs=2, verbose=0)
    model.evaluate(*data, verbose=0)
    model.predict(data[0], verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_1_in_a_pipe_prints_one_clean_line_per_epoch(model, data, capsys):
    model.fit(*data, epochs=3, batch_size=10, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    pattern = r"^3/3 ━{20} \d+s \d+(us|ms|s)/step - loss: \S+ - mae: \S+$"
    assert all(re.match(pattern, line) for line in lines[1::2]), lines


def test_auto_means_1_and_a_single_epoch_has_no_epoch_header(model, data, capsys):
    model.fit(*data, batch_size=10)
    out = capsys.readouterr().out
    assert "Epoch" not in out and re.match(r"^3/3 ━{20} ", out)


def test_verbose_2_prints_the_keras_epoch_line_with_validation(model, data, capsys):
    model.fit(*data, epochs=2, batch_size=8, verbose=2, validation_split=0.2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.match(
        r"^3/3 - \d+s - \d+(us|ms|s)/step - loss: \S+ - mae: \S+ - val_loss: \S+ - val_mae: \S+$", lines[1]
    ), lines[1]


def test_evaluate_and_predict_show_a_bar_unless_silent(model, data, capsys):
    model.evaluate(*data, batch_size=10)
    model.predict(data[0], batch_size=10)
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"^3/3 ━{20} \d+s \S+/step - loss: \S+ - mae: \S+$", lines[0])
    assert re.match(r"^3/3 ━{20} \d+s \S+/step$", lines[1])


def test_live_display_redraws_in_place():
    stream = FakeTerminal()
    bar = Progbar(target=4, verbose=1, interval=0.0, stream=stream)
    for step in range(1, 4):
        bar.update(step, {"loss": 0.5})
    bar.update(4, {"loss": 0.25}, finalize=True)
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "\x1b[32m" in text  # colour on a terminal
    final = text.rsplit("\r", 1)[1]
    assert re.sub(r"\x1b\[\d+m", "", final).startswith("4/4 ━━━━━━━━━━━━━━━━━━━━")
    assert "loss: 0.2500" in final


def test_live_display_is_throttled_and_reads_logs_only_when_drawing():
    reads = []

    class CountingLogs(dict):
        def __getitem__(self, key):
            reads.append(key)
            return 1.0

    stream = FakeTerminal()
    bar = Progbar(target=1000, verbose=1, interval=3600.0, stream=stream)
    logs = CountingLogs(loss=1.0)
    for step in range(1, 1000):
        bar.update(step, logs)
    assert stream.getvalue().count("\r") == 1 and len(reads) == 1  # only the first update drew


@pytest.mark.parametrize(
    "value,text",
    [(0.0123456, "0.0123"), (1.5, "1.5000"), (4.5e-05, "4.5000e-05"), (-0.5, "-0.5000"), (0.0, "0.0000e+00")],
)
def test_number_format(value, text):
    assert format_value(value) == text
