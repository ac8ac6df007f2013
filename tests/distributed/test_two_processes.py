"""Two processes on the CPU (gloo), launched the way users launch them.

``main`` runs under ``python -m torch.distributed.run --nproc_per_node=2`` (torchrun). The failure
scenarios run under a minimal launcher that only sets torchrun's environment variables: torchrun
itself kills the other workers when one exits with an error, and these tests must show that lstmkit
ends the job by itself (a launcher that does not, or a script that catches the error, would otherwise
hang). Every launch has a timeout, so a hang fails the test instead of blocking the suite, and
LSTMKIT_DISTRIBUTED_TIMEOUT bounds every collective.

Tolerance of the single-process comparison: the two runs do the same arithmetic except the order of
sums (a step's mean loss is two half-batch sums added; the gradient is two partial gradients added),
float32 rounding of ~1e-7 relative per step. Over the 12 steps here the observed differences are
< 1e-6 relative in the losses and < 5e-8 in the weights; the tests allow rtol 1e-5 and atol 1e-5,
more than 10x the observed differences and far below a step's change (~1e-2).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCENARIO = str(Path(__file__).with_name("scenario.py"))
LOSS_RTOL, WEIGHT_ATOL = 1e-5, 1e-5
COLLECTIVE_TIMEOUT = "30"  # seconds: LSTMKIT_DISTRIBUTED_TIMEOUT for the launched processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LSTMKIT_DEVICE")
    }
    env.update(
        OMP_NUM_THREADS="1", LSTMKIT_DISTRIBUTED_TIMEOUT=COLLECTIVE_TIMEOUT, LSTMKIT_DEVICE="cpu", **extra
    )
    return env


def _results(out: Path, name: str) -> list[dict]:
    return [json.loads((out / f"{name}-rank{r}.json").read_text()) for r in (0, 1)]


def _torchrun(name: str, out: Path, timeout: float = 120):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        SCENARIO,
        name,
        str(out),
    ]
    done = subprocess.run(command, check=False, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return _results(out, name)


def _bare_launch(name: str, out: Path, timeout: float = 90):
    """Both processes with torchrun's environment but no agent; returns (results, return codes, seconds)."""
    port = str(_free_port())
    start = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, SCENARIO, name, str(out)],
            env=_env(
                RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=port
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in (0, 1)
    ]
    codes = []
    try:
        for p in processes:
            p.communicate(timeout=max(1.0, timeout - (time.monotonic() - start)))
            codes.append(p.returncode)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    return _results(out, name), codes, time.monotonic() - start


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed-main")
    return out, _torchrun("main", out)


def _arrays(nested):
    return [np.asarray(w) for w in nested]


def test_weights_are_identical_on_both_ranks_and_start_from_rank_0(main_run):
    _, (r0, r1) = main_run
    assert r0["world_size"] == r1["world_size"] == 2
    # The processes were seeded differently, so they built different weights...
    assert any(not np.array_equal(a, b) for a, b in zip(_arrays(r0["initial"]), _arrays(r1["initial"])))
    # ... and after fit they hold the same ones, bit for bit (also a model built by a Sequence's first batch).
    for key in ("final", "sequence_final"):
        for a, b in zip(_arrays(r0[key]), _arrays(r1[key])):
            np.testing.assert_array_equal(a, b)


def test_final_loss_and_weights_match_one_process_with_the_same_global_batch(main_run):
    _, (r0, _) = main_run
    # 49 training samples = 3 steps of 2 x 8 + 1: rank 1 pads the last step; a padded sample counted
    # twice would move loss and mae far outside the tolerance.
    for key in ("loss", "mae", "val_loss", "val_mae"):
        np.testing.assert_allclose(
            r0["history"][key], r0["reference_history"][key], rtol=LOSS_RTOL, err_msg=key
        )
    for a, b in zip(_arrays(r0["final"]), _arrays(r0["reference_final"])):
        np.testing.assert_allclose(a, b, rtol=0, atol=WEIGHT_ATOL)


def test_logs_are_global_and_identical_on_every_rank(main_run):
    out, (r0, r1) = main_run
    assert r0["history"] == r1["history"]
    rows = (out / "log-rank0.csv").read_text().splitlines()
    assert rows[0] == "epoch,loss,mae,val_loss,val_mae"
    assert [float(v) for v in rows[-1].split(",")[1:]] == pytest.approx(
        [r0["history"][k][-1] for k in ("loss", "mae", "val_loss", "val_mae")], rel=1e-12
    )


@pytest.mark.parametrize("kind, n", [("seen_arrays", 35), ("seen_sequence", 45), ("seen_dataloader", 32)])
def test_every_sample_is_used_once_per_epoch(main_run, kind, n):
    _, (r0, r1) = main_run
    assert sorted(r0[kind]) == sorted(r1[kind]) == ["0", "1"]
    for epoch in ("0", "1"):
        assert sorted(r0[kind][epoch] + r1[kind][epoch]) == list(range(n)), (kind, epoch)
    assert r0[kind]["0"] != r0[kind]["1"]  # shuffled anew each epoch


def test_only_rank_0_prints_progress_and_writes_files(main_run):
    out, _ = main_run
    assert (out / "ckpt-rank0.keras").exists() and (out / "log-rank0.csv").exists()
    assert not (out / "ckpt-rank1.keras").exists() and not (out / "log-rank1.csv").exists()
    printed = (out / "stdout-rank0.txt").read_text()
    assert "Epoch 3/3" in printed and printed.count("4/4") == 3 and "val_loss" in printed
    assert (out / "stdout-rank1.txt").read_text() == ""


def test_evaluate_under_torchrun_gives_the_global_values_on_every_rank(main_run):
    _, (r0, r1) = main_run
    assert r0["evaluate"] == r1["evaluate"]
    for key, value in r0["evaluate_local"].items():
        assert r0["evaluate"][key] == pytest.approx(value, rel=1e-6)


def test_predict_under_torchrun_returns_everything_in_order(main_run):
    _, (r0, r1) = main_run
    for r in (r0, r1):  # 7 samples: 3 on rank 0, 4 on rank 1
        np.testing.assert_allclose(r["predict"], r["predict_local"], rtol=1e-6, atol=1e-7)
        assert np.asarray(r["predict_one"]).shape == (1, 1)  # fewer samples than processes
    assert r0["predict"] == r1["predict"]


def test_graph_models_train_evaluate_and_predict_under_torchrun(main_run):
    _, (r0, r1) = main_run
    assert r0["graph_final"] == r1["graph_final"] and r0["graph_history"] == r1["graph_history"]
    assert sorted(r0["graph_history"]) == ["loss", "prob_accuracy", "prob_loss", "value_loss"]
    # Unshuffled, 2 processes x batch 8 take the steps of one process with batch 16 (same initial weights).
    for key, values in r0["graph_reference_history"].items():
        np.testing.assert_allclose(r0["graph_unshuffled"][key], values, rtol=LOSS_RTOL, err_msg=key)
    for r in (r0, r1):
        for name in ("value", "prob"):
            np.testing.assert_allclose(
                r["graph_predict"][name], r["graph_predict_local"][name], rtol=1e-6, atol=1e-7
            )
        for key, value in r["graph_evaluate_local"].items():
            assert r["graph_evaluate"][key] == pytest.approx(value, rel=1e-5)


def test_stateful_models_are_refused_with_a_clear_error(main_run):
    _, (r0, r1) = main_run
    for r in (r0, r1):
        assert "stateful" in r["stateful_error"] and "distributed=False" in r["stateful_error"]


def test_processes_given_different_data_are_told_so(main_run):
    _, (r0, r1) = main_run
    assert r0["mismatch_error"] == r1["mismatch_error"]
    assert "different training data" in r0["mismatch_error"] and "(40, 5, 2)" in r0["mismatch_error"]
    assert "(39, 5, 2)" in r0["mismatch_error"]


def _check_failure(results, codes, seconds, where):
    r0, r1 = results
    assert codes[0] != 0 and codes[1] != 0, codes
    assert seconds < float(COLLECTIVE_TIMEOUT), f"the job took {seconds:.1f} s to stop"
    assert r1["error"]["type"] == "ValueError" and "NaN" in r1["error"]["message"]
    assert r0["error"]["type"] == "DistributedError", r0["error"]
    assert "rank 1" in r0["error"]["message"] and "NaN" in r0["error"]["message"], r0["error"]["message"]
    assert where in r0["error"]["message"]


def test_bad_input_on_one_rank_stops_every_rank_before_training(tmp_path):
    results, codes, seconds = _bare_launch("setup_failure", tmp_path)
    _check_failure(results, codes, seconds, "while preparing")


def test_a_failure_during_training_stops_every_rank(tmp_path):
    results, codes, seconds = _bare_launch("train_failure", tmp_path)
    _check_failure(results, codes, seconds, "another process failed")
