"""Running one job (a workload, an implementation, sizes, a device) and describing an interpreter.

Used in-process by run.py for lstmkit and plain PyTorch, and by worker.py inside the subprocesses (the
Keras interpreter; the fresh processes of isolated workloads). Imports no framework at the top.
"""

from __future__ import annotations

import gc
import platform
import traceback

from workloads import load
from workloads._common import Skip

__all__ = ["execute", "interpreter_info"]


def execute(job: dict) -> dict:
    """Run ``run_<impl>(config, device)`` of the job's workload.

    Returns the workload's result with ``status`` "ok", or ``{"status": "skipped", "reason": ...}``, or
    ``{"status": "error", "error": <traceback tail>}``: one failing implementation does not stop the suite.
    """
    module = load(job["workload"])
    impl, device = job["impl"], job["device"]
    try:
        if impl.startswith("lstmkit"):
            import lstmkit

            lstmkit.set_device(device)
        elif impl == "keras":
            import keras

            keras.backend.clear_session()  # no graph or name state carried over from the previous job
        gc.collect()
        result = getattr(module, "run_" + impl.replace("-", "_"))(job["config"], device)
        return {"status": "ok", **result}
    except Skip as skip:
        return {"status": "skipped", "reason": str(skip)}
    except Exception:  # noqa: BLE001 - reported in the table's notes, the suite goes on
        return {"status": "error", "error": traceback.format_exc(limit=6)[-3000:]}


def interpreter_info() -> dict:
    """Versions and devices of this interpreter's Keras stack (empty values where a package is missing)."""
    info = {"python": platform.python_version()}
    try:
        import keras

        info["keras"] = keras.__version__
        info["keras_backend"] = keras.backend.backend()
    except Exception as err:  # noqa: BLE001
        info["keras_error"] = f"{type(err).__name__}: {err}"
        return info
    if info["keras_backend"] == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        info["keras_device"] = f"GPU ({len(gpus)})" if gpus else "CPU"
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        info["tf_threads"] = f"intra-op {intra or 'default (all cores)'}, inter-op {inter or 'default'}"
    elif info["keras_backend"] == "torch":
        import torch

        info["torch"] = torch.__version__
        info["keras_device"] = "CUDA" if torch.cuda.is_available() else "CPU"
    elif info["keras_backend"] == "jax":
        import jax

        info["jax"] = jax.__version__
        info["keras_device"] = str(jax.devices()[0].platform).upper()
    return info
