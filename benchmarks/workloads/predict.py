"""predict: inference throughput on a large input, and the memory it takes beyond input and output.

200 000 × 50 × 8 float32 (320 MB) -> LSTM(64) -> Dense(1), untrained weights, ``predict`` in batches of
1024 (the same batch size for every implementation). Each implementation runs in a fresh process (run.py
does that), so memory numbers are not blurred by other workloads. In that process, after building the
model and one small warm-up predict, three numbers are taken:

- ``rss_extra_mb``: process resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs
  right before the predict) minus the resident set before it (which holds the input) minus the output.
- ``numpy_extra_mb``: a second predict under ``tracemalloc`` (NumPy and Python allocations only; torch's
  and TensorFlow's own allocators are not traced): traced peak minus what is still held at the end.
- ``cuda_extra_mb`` (CUDA only): ``torch.cuda.max_memory_allocated`` during the predict minus the
  allocation before it minus the output.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from workloads._common import dense_flops, lstm_flops, random_float, sync

NAME = "predict"
TITLE = "predict 200 000 × 50 × 8 → LSTM(64) → Dense(1), batch 1024, fresh process each"
MEASURE = "samples/s"
KIND = "throughput"
IMPLEMENTATIONS = ("lstmkit", "torch", "keras")
ISOLATED = True
FEATURES, UNITS, BATCH = 8, 64, 1024
FLOP_FORMULA = "per sample 2·T·4u·(f+u) + 2·u (forward only; f=8, u=64)"
MB = 1024.0**2


def config(quick: bool) -> dict:
    return {"samples": 4096 if quick else 200_000, "timesteps": 50}


def warmup(cfg: dict) -> dict:  # unused: each run warms up inside its own fresh process
    return cfg


def data(cfg: dict):
    return random_float((cfg["samples"], cfg["timesteps"], FEATURES), seed=0)


def sample_gflop(cfg: dict) -> float:
    return (lstm_flops(cfg["timesteps"], 1, FEATURES, UNITS) + dense_flops(1, UNITS, 1)) / 1e9


# ----------------------------------------------------------------------------- memory probes
def _status_bytes() -> dict:
    """VmRSS / VmHWM of this process in bytes (empty where /proc is missing)."""
    values = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # Linux: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def _peak_rss_fallback() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def measure(predict_fn, x, cfg: dict, device: str, torch_side: bool) -> dict:
    """Warm up, then time one full predict (with the RSS probe) and run one more under tracemalloc."""
    predict_fn(x[: 2 * BATCH])
    gc.collect()
    cuda = torch_side and device.startswith("cuda")
    if cuda:
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_before = torch.cuda.memory_allocated()
    reset = _reset_high_water_mark()
    before = _status_bytes().get("VmRSS", 0)
    start = time.perf_counter()
    out = predict_fn(x)
    if torch_side:
        sync(device)
    seconds = time.perf_counter() - start
    peak = _status_bytes().get("VmHWM") if reset else None
    result = {
        "value": len(x) / seconds,
        "seconds": seconds,
        "gflop_per_s": sample_gflop(cfg) * len(x) / seconds,
        "output_shape": list(out.shape),
        "rss_extra_mb": ((peak if peak is not None else _peak_rss_fallback()) - before - out.nbytes) / MB,
        "rss_probe": "VmHWM reset before predict" if reset else "ru_maxrss of the whole process (no reset)",
    }
    if cuda:
        result["cuda_extra_mb"] = (torch.cuda.max_memory_allocated() - cuda_before - out.nbytes) / MB
    del out
    gc.collect()
    tracemalloc.start()
    held = predict_fn(x)  # kept alive: "current" below includes the output if NumPy allocated it
    current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    result["numpy_extra_mb"] = (traced_peak - current) / MB
    return result


# ----------------------------------------------------------------------------- implementations
def run_lstmkit(cfg: dict, device: str) -> dict:
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    x = data(cfg)
    model = Sequential([LSTM(UNITS, input_shape=(cfg["timesteps"], FEATURES)), Dense(1)])
    return measure(lambda a: model.predict(a, batch_size=BATCH, verbose=0), x, cfg, device, torch_side=True)


def run_torch(cfg: dict, device: str) -> dict:
    import torch

    from workloads._common import torch_lstm_regressor

    net = torch_lstm_regressor(FEATURES, UNITS).to(device).eval()

    def predict(a):
        with torch.inference_mode():
            inputs = torch.from_numpy(a)  # no copy; each batch goes to the device on its own
            out = torch.empty((len(a), 1), device=device)
            for begin in range(0, len(a), BATCH):
                out[begin : begin + BATCH] = net(inputs[begin : begin + BATCH].to(device, non_blocking=True))
            return out.cpu().numpy()

    return measure(predict, data(cfg), cfg, device, torch_side=True)


def run_keras(cfg: dict, device: str) -> dict:
    import keras

    x = data(cfg)
    model = keras.Sequential(
        [keras.Input((cfg["timesteps"], FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)]
    )
    return measure(lambda a: model.predict(a, batch_size=BATCH, verbose=0), x, cfg, device, torch_side=False)
