"""``lstmkit run script.py [args...]`` (or ``python -m lstmkit.run script.py``): run a Keras script unchanged.

The script's imports of ``keras``, ``keras.*``, ``tensorflow.keras.*`` and ``tf_keras`` resolve to lstmkit
(aliases.py), and ``import tensorflow as tf`` gets a small stand-in (tf_standin.py). Everything else is as
with ``python script.py``: ``sys.argv`` is the script's path and arguments, ``__name__`` is
``"__main__"``, ``__file__`` the script's absolute path, the script's folder is first on ``sys.path``, the
working directory is unchanged; ``sys.exit(n)`` exits with n, and an uncaught exception prints its
traceback and exits with 1.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import traceback
import types

from lstmkit.run import aliases

__all__ = ["main", "run_script"]

_USAGE = "usage: lstmkit run script.py [args ...]   (or: python -m lstmkit.run script.py [args ...])"


def run_script(path, args=()) -> int:
    """Run the Keras script at ``path`` with ``args`` as ``python path args...`` would; return the exit
    status (0, or 1 after printing the traceback of an uncaught exception). ``sys.exit`` in the script
    raises SystemExit through this function, as it would end the interpreter."""
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    try:
        with open(absolute, "rb") as handle:
            source = handle.read()
    except OSError as error:
        print(
            f"lstmkit run: can't open file {path!r}: [Errno {error.errno}] {error.strerror}", file=sys.stderr
        )
        return 2
    sys.argv = [path, *map(str, args)]
    script_dir = os.path.dirname(absolute)
    if sys.path:
        sys.path[0] = script_dir
    else:
        sys.path.insert(0, script_dir)
    main_module = types.ModuleType("__main__")
    main_module.__file__ = absolute
    main_module.__cached__ = None
    main_module.__loader__ = importlib.machinery.SourceFileLoader("__main__", absolute)
    main_module.__builtins__ = __builtins__
    sys.modules["__main__"] = main_module
    aliases.install()
    try:
        code = compile(source, absolute, "exec", dont_inherit=True)
    except SyntaxError as error:
        traceback.print_exception(type(error), error, None)
        return 1
    try:
        exec(code, main_module.__dict__)  # noqa: S102 - running the user's script is the purpose
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - as the interpreter does: any uncaught exception ends the script
        traceback.print_exception(type(error), error, _script_frames(error.__traceback__, absolute))
        return 1
    return 0


def _script_frames(tb, script: str):
    """The traceback from the script's first frame on (this runner's frame is not the user's concern)."""
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != script:
        start = start.tb_next
    return start or tb


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stdout if argv else sys.stderr)
        print(
            "Runs a Keras script unchanged: its keras / tensorflow.keras / tf_keras imports resolve to lstmkit.",
            file=sys.stdout if argv else sys.stderr,
        )
        return 0 if argv else 2
    return run_script(argv[0], argv[1:])
