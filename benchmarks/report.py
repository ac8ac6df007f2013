"""The report: the machine on top, then one Markdown table of medians and ratios, then the notes."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from pathlib import Path

from activity import activity_line

__all__ = ["cpu_model", "machine_info", "plot_scaling", "render", "write_into_readme"]

OTHERS = ("torch", "keras")
MEMORY_ROWS = (
    ("rss_extra_mb", "predict memory: peak RSS above input + output", "MB"),
    ("numpy_extra_mb", "predict memory: NumPy-side peak (tracemalloc)", "MB"),
    ("cuda_extra_mb", "predict memory: CUDA peak above output", "MB"),
)


def cpu_model() -> str:
    """The processor's name (/proc/cpuinfo), else what the platform module says."""
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
        "cpu": cpu_model(),
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
    lines.append(activity_line(m.get("activity")))
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


def _peak(results: dict):
    """The matmul row's GFLOP/s (the best of 1 thread and all threads), or None."""
    med = results.get("matmul", {}).get("medians", {}).get("torch", {})
    return med.get("value") if med.get("status") == "ok" else None


def _ratio(mine, theirs, higher_is_better: bool) -> str:
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return "—"
    ratio = mine / theirs if higher_is_better else theirs / mine
    return f"{ratio:.2f}×"


def render(machine: dict, results: dict, args, added_matmul: bool) -> str:
    has_jit = any("lstmkit-jit" in res["medians"] for res in results.values())
    impls = (
        ["lstmkit"]
        + (["lstmkit-jit"] if has_jit else [])
        + ["torch"]
        + (["keras"] if machine["keras"] else [])
    )
    # (numerator, denominator): "how many times faster the second is than the first"
    pairs = [("torch", "lstmkit")] + ([("keras", "lstmkit")] if "keras" in impls else [])
    if has_jit:
        pairs += [("lstmkit", "lstmkit-jit")] + ([("keras", "lstmkit-jit")] if "keras" in impls else [])
    keras_elsewhere = (
        bool(machine["keras"])
        and machine["device"] == "cuda"
        and not str(machine["keras"].get("keras_device", "")).startswith("GPU")
    )
    peak = _peak(results)
    notes = _Notes()
    flop_impls = [i for i in impls if i != "lstmkit-jit"]

    header = [
        "workload",
        "measure",
        *impls,
        *(f"{a}/{b}" for a, b in pairs),
        f"GFLOP/s ({' / '.join(flop_impls)})",
        f"% of matmul peak ({' / '.join(flop_impls)})",
    ]
    rows = []
    for name, res in results.items():
        if res["kind"] == "scaling":
            continue
        med = res["medians"]
        higher = res["kind"] == "throughput"
        row = [name, res["measure"]]
        for i in impls:
            cell = _cell(med.get(i), "value", notes, f"{name} {i}")
            if i == "lstmkit-jit" and med.get(i, {}).get("compile_seconds") is not None:
                cell += f" (+{med[i]['compile_seconds']:.1f} s first fit)"
            row.append(cell)
        for a, b in pairs:
            row.append(_ratio(med.get(b, {}).get("value"), med.get(a, {}).get("value"), higher))
        gflops = [med.get(i, {}).get("gflop_per_s") for i in flop_impls]
        row.append(" / ".join(_num(g) for g in gflops) if any(g is not None for g in gflops) else "")
        shares = []
        for impl, g in zip(flop_impls, gflops):
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
            for a, b in pairs:
                mine, theirs = med.get(b, {}).get(key), med.get(a, {}).get(key)
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
            f"on {machine['device']}, the better of 1 thread and all threads, median over repeats)"
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
    if has_jit:
        out.append(
            "- `lstmkit-jit`: the same model compiled with `jit_compile=True` (lstmkit/training/compiled.py). "
            "Each run first fits one untimed epoch, which traces the new model and compiles it or loads "
            "the compiled code from inductor's on-disk cache (warm after the warm-up run): the seconds in "
            "brackets. Fused-kernel models (medium, long, stacked, text) are not compiled and are left out."
        )
    out.append(
        "- Sizes: "
        + "; ".join(f"{n} {res['config']}" for n, res in results.items() if res["kind"] != "scaling")
    )
    for index, text in enumerate(notes.items, 1):
        out.append(f"- [{index}] {text}")
    if "scaling" in results:
        out += ["", *scaling_table(results["scaling"], impls, peak)]
    out += ["", *target_lines(results)]
    return "\n".join(out)


# ----------------------------------------------------------------------------- targets
# (workload, numerator implementation, denominator implementation, at least, what it says)
TARGETS = (
    ("seed", "keras", "lstmkit", 100.0, "seed ≥ 100× Keras (eager)"),
    ("seed", "keras", "lstmkit-jit", 200.0, "seed ≥ 200× Keras with jit_compile=True (warm cache)"),
    ("window", "keras", "lstmkit", 10.0, "window ≥ 10× Keras (eager)"),
    ("window", "keras", "lstmkit-jit", 20.0, "window ≥ 20× Keras with jit_compile=True (warm cache)"),
    ("medium-generic", "keras", "lstmkit", 1.0, "medium-generic ≥ 1.0× Keras"),
    ("long", "keras", "lstmkit", 1.5, "long ≥ 1.5× Keras"),
    ("medium", "torch", "lstmkit", 0.95, "medium ≥ 0.95× plain PyTorch"),
    ("stacked", "torch", "lstmkit", 0.95, "stacked ≥ 0.95× plain PyTorch"),
    ("text", "torch", "lstmkit", 0.95, "text ≥ 0.95× plain PyTorch"),
)


def target_lines(results: dict) -> list[str]:
    """Every performance target with met / not met and the measured ratio (medians of this run)."""
    lines = ["Targets (ratios of this run's medians; >1: lstmkit faster):", ""]
    for workload, theirs, mine, goal, text in TARGETS:
        med = results.get(workload, {}).get("medians", {})
        a, b = med.get(theirs, {}).get("value"), med.get(mine, {}).get("value")
        if a is None or b is None:
            lines.append(f"- {text}: not measured in this run")
            continue
        ratio = a / b
        verdict = "met" if ratio >= goal else "not met"
        lines.append(f"- {text}: **{verdict}** ({ratio:.2f}×)")
    return lines


# ----------------------------------------------------------------------------- scaling study
def scaling_medians(res: dict) -> dict:
    """impl -> {(timesteps, units): median seconds per epoch} over the successful runs."""
    medians = {}
    for impl, runs in res["runs"].items():
        by_point: dict = {}
        for run in runs:
            for p in run.get("points", []) if run.get("status") == "ok" else []:
                by_point.setdefault((p["timesteps"], p["units"]), []).append(p["seconds"])
        medians[impl] = {k: statistics.median(v) for k, v in by_point.items()}
    return medians


def scaling_table(res: dict, impls: list, peak) -> list[str]:
    medians = scaling_medians(res)
    shown = [i for i in impls if medians.get(i)]
    points = res["config"]["points"]
    samples = res["config"]["samples"]
    header = ["T", "units", *(f"{i} s/epoch" for i in shown)]
    header += [f"{o}/lstmkit" for o in shown if o != "lstmkit"] + ["lstmkit GFLOP/s (% of peak)"]
    repeats = len(next(iter(res["runs"].values())))
    title = f"Scaling study ({res['title']}; medians of {repeats} run(s), second epoch of each fit):"
    lines = [
        title,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    from workloads.scaling import epoch_gflop

    for t, u in points:
        values = [medians[i].get((t, u)) for i in shown]
        row = [str(t), str(u), *(_num(v) for v in values)]
        mine = medians.get("lstmkit", {}).get((t, u))
        for o in shown:
            if o != "lstmkit":
                row.append(_ratio(mine, medians[o].get((t, u)), False))
        if mine:
            gflops = epoch_gflop(samples, t, u) / mine
            row.append(f"{_num(gflops)}" + (f" ({100 * gflops / peak:.0f}%)" if peak else ""))
        else:
            row.append("—")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def plot_scaling(res: dict, machine: dict, path) -> None:
    """Two panels (s/epoch against timesteps, and against units), one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from workloads.scaling import SWEEP_TIMESTEPS, SWEEP_UNITS

    medians = scaling_medians(res)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    sweeps = ((0, SWEEP_UNITS, f"units = {SWEEP_UNITS}"), (1, SWEEP_TIMESTEPS, f"T = {SWEEP_TIMESTEPS}"))
    for axis, (vary, fixed, fixed_name) in zip(axes, sweeps):
        for impl, points in medians.items():
            # the other coordinate of the point (units for the timestep sweep) is the one held fixed
            chosen = sorted((k, v) for k, v in points.items() if k[1 - vary] == fixed)
            if chosen:
                axis.plot([k[vary] for k, _ in chosen], [v for _, v in chosen], marker="o", label=impl)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("timesteps T" if vary == 0 else "units u")
        axis.set_ylabel(f"seconds per epoch ({res['config']['samples']} samples)")
        axis.set_title(fixed_name)
        axis.grid(True, which="both", alpha=0.3)
        if axis.lines:
            axis.legend()
    activity = machine.get("activity") or {}
    quiet = {True: "quiet", False: "busy"}.get(activity.get("quiet"), "quietness unknown")
    figure.suptitle(f"LSTM training time: {machine['cpu']}, {machine['date']}, machine {quiet}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ----------------------------------------------------------------------------- README
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def write_into_readme(path: Path, report: str) -> None:
    """Replace the text between the START and END marker lines of ``path`` with ``report``."""
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} lines to write the report between")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    body = report.replace("## lstmkit benchmark\n\n", "", 1)
    path.write_text(f"{before}{START}\n{body}\n{END}{after}")
