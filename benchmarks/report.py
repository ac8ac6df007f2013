"""The report: the machine on top, then one Markdown table of medians and ratios, then the notes."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

__all__ = ["machine_info", "render"]

OTHERS = ("torch", "keras")
MEMORY_ROWS = (
    ("rss_extra_mb", "predict memory: peak RSS above input + output", "MB"),
    ("numpy_extra_mb", "predict memory: NumPy-side peak (tracemalloc)", "MB"),
    ("cuda_extra_mb", "predict memory: CUDA peak above output", "MB"),
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(
    device: str, threads_before_lstmkit: int, keras_info: dict | None, keras_missing: str = ""
) -> dict:
    import numpy
    import torch

    import lstmkit

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count()
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": available,
        "torch_threads": torch.get_num_threads(),
        "torch_threads_before_lstmkit": threads_before_lstmkit,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "lstmkit": lstmkit.__version__,
        "python": platform.python_version(),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
        info["tf32"] = (
            f"matmul {torch.backends.cuda.matmul.allow_tf32}, cuDNN {torch.backends.cudnn.allow_tf32}"
        )
    info["keras"] = keras_info
    info["keras_missing"] = keras_missing
    return info


def _machine_lines(m: dict) -> list[str]:
    threads = f"torch threads {m['torch_threads']} (inter-op {m['torch_interop_threads']})"
    if m["torch_threads_before_lstmkit"] != m["torch_threads"]:
        threads += f"; {m['torch_threads_before_lstmkit']} before `import lstmkit`"
    if m["device"] == "cuda":
        device = f"**cuda**: {m['gpu']} (CUDA {m['cuda']}, cuDNN {m['cudnn']}, TF32: {m['tf32']})"
    else:
        device = "**cpu**" + (f" (a GPU is present but not used: {m['gpu']})" if m["gpu"] else "")
    lines = [
        f"- CPU: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['cpus_available']} available); {threads}",
        f"- Device for lstmkit and torch: {device}",
        f"- torch {m['torch']}, lstmkit {m['lstmkit']}, NumPy {m['numpy']}, Python {m['python']}",
    ]
    k = m["keras"]
    if k:
        backend = k.get("keras_backend", "?")
        version = k.get(backend, "") if backend != "tensorflow" else k.get("tensorflow", "")
        threads = f"; TF threads: {k['tf_threads']}" if "tf_threads" in k else ""
        lines.append(
            f"- Keras {k['keras']} on {backend} {version} ({k.get('keras_device', '?')}{threads}), "
            f"Python {k['python']}, interpreter `{k['interpreter']}`"
        )
    else:
        lines.append(f"- Keras: left out ({m['keras_missing'] or 'not importable'}); its columns are omitted")
    lines.append(f"- Date: {m['date']}")
    return lines


def _num(value) -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


class _Notes:
    """Numbered footnotes for cells that did not produce a number."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, text: str) -> str:
        text = " ".join(text.split())
        if text not in self.items:
            self.items.append(text)
        return f"[{self.items.index(text) + 1}]"


def _cell(summary: dict | None, key: str, notes: _Notes, where: str) -> str:
    if summary is None:
        return "—"
    if summary["status"] != "ok":
        word = "skipped" if summary["status"] == "skipped" else "error"
        reason = summary["reason"]
        return f"{word} {notes.add(f'{where}: {reason}')}"
    value = summary.get(key)
    text = _num(value)
    if summary.get("failed_runs"):
        failed = summary["failed_runs"]
        text += f" {notes.add(f'{where}: {failed} run(s) failed; median of the rest')}"
    return text


def _megabytes(summary: dict | None, key: str, notes: _Notes, where: str) -> str:
    if summary is not None and summary.get(key) is not None:
        return f"{summary[key]:.1f}"
    return _cell(summary, key, notes, where)


def _ratio(mine, theirs, higher_is_better: bool) -> str:
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return "—"
    ratio = mine / theirs if higher_is_better else theirs / mine
    return f"{ratio:.2f}×"


def render(machine: dict, results: dict, args, added_matmul: bool) -> str:
    impls = ["lstmkit", "torch"] + (["keras"] if machine["keras"] else [])
    others = [i for i in impls if i != "lstmkit"]
    keras_elsewhere = (
        bool(machine["keras"])
        and machine["device"] == "cuda"
        and not str(machine["keras"].get("keras_device", "")).startswith("GPU")
    )
    peak = None
    if "matmul" in results and results["matmul"]["medians"].get("torch", {}).get("status") == "ok":
        peak = results["matmul"]["medians"]["torch"]["value"]
    notes = _Notes()

    header = [
        "workload",
        "measure",
        *impls,
        *(f"{o}/lstmkit (>1: lstmkit faster)" for o in others),
        f"GFLOP/s ({' / '.join(impls)})",
        f"% of matmul peak ({' / '.join(impls)})",
    ]
    rows = []
    for name, res in results.items():
        med = res["medians"]
        higher = res["kind"] == "throughput"
        row = [name, res["measure"]]
        row += [_cell(med.get(i), "value", notes, f"{name} {i}") for i in impls]
        for o in others:
            mine, theirs = med.get("lstmkit", {}), med.get(o, {})
            row.append(_ratio(mine.get("value"), theirs.get("value"), higher))
        gflops = [med.get(i, {}).get("gflop_per_s") for i in impls]
        row.append(" / ".join(_num(g) for g in gflops) if any(g is not None for g in gflops) else "")
        shares = []
        for impl, g in zip(impls, gflops):
            if g is None or peak is None or (impl == "keras" and keras_elsewhere):
                shares.append("—")
            else:
                shares.append(f"{100 * g / peak:.0f}%")
        row.append(" / ".join(shares) if any(g is not None for g in gflops) else "")
        rows.append(row)
        for key, label, unit in MEMORY_ROWS:
            if not any(key in med.get(i, {}) for i in impls):
                continue
            mem = [label, unit + " (ratio >1: lstmkit uses less)"]
            mem += [_megabytes(med.get(i), key, notes, f"{name} {i}") for i in impls]
            for o in others:
                mine, theirs = med.get("lstmkit", {}).get(key), med.get(o, {}).get(key)
                # below 1 MB the ratio says nothing (allocator noise)
                mem.append(
                    "—"
                    if mine is None or theirs is None or mine < 1 or theirs < 1
                    else f"{theirs / mine:.2f}×"
                )
            mem += ["", ""]
            rows.append(mem)

    out = ["## lstmkit benchmark", ""]
    if args.quick:
        out += ["**QUICK MODE: tiny sizes, a smoke test of the suite. These numbers measure nothing.**", ""]
    out += _machine_lines(machine)
    order = " → ".join(impls)
    where = "lstmkit and torch run in this process, each warmed up once per workload (untimed)"
    if machine["keras"]:
        where += "; Keras runs in a subprocess of its interpreter, warmed up likewise"
    out.append(
        f"- Runs: {args.repeats} timed repeat(s) per implementation, interleaved ({order}, {order}, "
        f"...); medians. {where}; `predict` runs every repeat in a fresh process."
    )
    out.append("")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---" for _ in header) + "|")
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += ["", "Notes:", ""]
    out.append(
        "- Ratios say how many times faster lstmkit is: the other's time ÷ lstmkit's (for samples/s "
        "and GFLOP/s: lstmkit's ÷ the other's; for memory: the other's MB ÷ lstmkit's). "
        ">1 means lstmkit is faster (uses less memory)."
    )
    out.append(
        "- `s per fit`: wall time of the whole `fit` (all epochs). `s/epoch`: mean wall time of the "
        "epochs after the first; the first epoch (graph tracing, allocator growth) is excluded."
    )
    out.append(
        "- Plain PyTorch: `nn.LSTM`/`nn.Embedding`/`nn.Linear` (relu LSTMs: a hand-written cell loop), "
        "`torch.optim.Adam(lr=1e-3, eps=1e-7)`, data as tensors on the device, `torch.randperm` "
        "shuffle per epoch, zero_grad/backward/step per batch, epoch loss accumulated on the device."
    )
    out.append(
        "- GFLOP/s counts matmul FLOPs only: an LSTM layer's forward pass is 2·T·B·4u·(f+u) "
        "(T timesteps, B samples, u units, f input features), a Dense 2·B·in·out; training counts "
        "3 × forward (the backward pass is about 2 × forward). Per workload:"
    )
    for name, res in results.items():
        if res.get("flop_formula") and name != "matmul":
            out.append(f"  - {name}: {res['flop_formula']}")
    if peak is not None:
        sizes = sorted({r["n"] for r in results["matmul"]["runs"]["torch"] if r.get("status") == "ok"})
        out.append(
            f"- % of matmul peak: GFLOP/s ÷ the `matmul` row ({_num(peak)} GFLOP/s: the fastest of "
            f"repeated float32 `torch.matmul` products of n × n matrices, n = {', '.join(map(str, sizes))}, "
            f"on {machine['device']}, median over repeats)"
            + (", added to the selected workloads for this column." if added_matmul else ".")
        )
    if keras_elsewhere:
        out.append(
            "- Keras computes on the CPU here (its TensorFlow has no GPU), so its % of the GPU's peak is "
            "not given."
        )
    if "predict" in results:
        out.append(
            "- predict memory (each in a fresh process, after a warm-up): *peak RSS* = resident-set "
            "high-water mark during the predict (reset just before) − resident set before it (which "
            "holds the input) − the output; *NumPy-side* = tracemalloc's peak during a second predict "
            "− what it still holds at the end (NumPy/Python allocations only; torch's and "
            "TensorFlow's allocators are not traced); *CUDA* = `torch.cuda.max_memory_allocated` − "
            "allocated before − the output."
        )
    out.append("- Sizes: " + "; ".join(f"{n} {res['config']}" for n, res in results.items()))
    for index, text in enumerate(notes.items, 1):
        out.append(f"- [{index}] {text}")
    return "\n".join(out)
