"""The README stays true: CI runs its test command, and its five-step example runs as printed."""

import re
from pathlib import Path

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
