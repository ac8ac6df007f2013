"""The README stays true: CI runs its test command, and its five-step example runs as printed."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _code_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command():
    commands = [block.strip() for block in _code_blocks("bash")]
    assert len(commands) == 2, "the README gives exactly two set-up commands"
    assert "lstmkit demo" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_five_step_example_runs_as_printed():
    namespace = {}
    exec(_code_blocks("python")[0], namespace)  # noqa: S102 - our own README
    assert namespace["loss"] < 1e-3
    assert abs(namespace["predictions"].ravel() - namespace["y"]).max() < 0.05


def _block_after(heading):
    section = README.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)


def test_graph_model_example_runs_as_printed():
    namespace = {}
    exec(_block_after("## Graph models (the functional API)"), namespace)  # noqa: S102 - our own README
    decoder = namespace["decoder_model"]
    assert (
        decoder.count_params()
        == namespace["decoder_lstm"].count_params() + namespace["decoder_dense"].count_params()
    )
    probabilities, h, c = decoder.predict(
        [np.zeros((2, 1, 8)), *namespace["encoder_model"].predict(np.zeros((2, 5, 8)), verbose=0)], verbose=0
    )
    assert probabilities.shape == (2, 1, 8) and h.shape == c.shape == (2, 32)


def test_custom_layer_example_runs_as_printed():
    namespace = {}
    exec(_block_after("## Your own layers, losses, metrics and ops"), namespace)  # noqa: S102 - our own README
    from lstmkit.layers import LSTM
    from lstmkit.models import Sequential

    model = Sequential([LSTM(4, return_sequences=True, input_shape=(6, 2)), namespace["Attention"]()])
    assert model.predict(np.zeros((3, 6, 2)), verbose=0).shape == (3, 4)
