"""The process group of a ``torchrun`` launch, and one fit/evaluate/predict call across its processes.

``torchrun --nproc_per_node=N script.py`` starts N copies of the script with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their environment. The first distributed call
creates the process group from them (``init_process_group``, env:// rendezvous): gloo when lstmkit
computes on the CPU, NCCL on CUDA with one GPU per process (``cuda:LOCAL_RANK``). A group the script
created itself is used as it is.

Failures must end the job, not hang it:

- Until the first collective of a call every process only checks and prepares its data. Then one
  ``all_gather_object`` exchanges "ok" or the error message (plus what each process was given, and
  rank 0's shuffle seed): if any process failed, all raise together, the failing one its own error,
  the others a ``DistributedError`` quoting it.
- A failure inside the loops (a bad batch of a Sequence on one rank, say) is written to the
  rendezvous store and the failing process shuts its process group down, so the others' pending
  collective fails at once (gloo) instead of waiting; they read the message from the store and raise
  a ``DistributedError`` with it. The group is unusable after that: later distributed calls say so.
- Anything else (a process that hangs) is bounded by the group's timeout: ``LSTMKIT_DISTRIBUTED_TIMEOUT``
  seconds (default 300) for groups lstmkit creates.
"""

from __future__ import annotations

import atexit
import os
from contextlib import contextmanager, suppress
from datetime import timedelta

import torch
import torch.distributed as dist

from lstmkit import backend

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV_VAR",
    "Context",
    "DistributedError",
    "Run",
    "Setup",
    "guarded",
    "initialize",
    "is_launched",
    "local_rank",
    "rank",
    "run_for",
    "world_size",
]

TIMEOUT_ENV_VAR = "LSTMKIT_DISTRIBUTED_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
_MESSAGE_WAIT = timedelta(seconds=5)  # how long a surviving process waits for the failing one's message

_context: Context | None = None
_shut_down: str | None = None  # why the group was shut down after a failure
_failed: Context | None = None  # its store may still carry this process's message to the others


class DistributedError(RuntimeError):
    """Another process of a distributed job failed (its message is quoted), or the group is gone."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{name}={value!r} in the environment is not an integer; torchrun sets it to the "
            "process's number. Launch with torchrun, or unset it."
        ) from None


def is_launched() -> bool:
    """True in a process started by torchrun (or a launcher like it) with more than one process."""
    return _env_int("WORLD_SIZE", 1) > 1


def rank() -> int:
    """This process's number in the job (0 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK", 0)


def world_size() -> int:
    """The number of processes in the job (1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return _env_int("WORLD_SIZE", 1)


def local_rank() -> int:
    """This process's number on its machine (torchrun's LOCAL_RANK; 0 when not distributed)."""
    return _env_int("LOCAL_RANK", 0)


def _timeout(timeout) -> float:
    if timeout is None:
        value = os.environ.get(TIMEOUT_ENV_VAR, "")
        try:
            timeout = float(value) if value else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV_VAR}={value!r} is not a number of seconds.") from None
    if not timeout > 0:
        raise ValueError(
            f"The distributed timeout must be a positive number of seconds. Received: {timeout!r}"
        )
    return float(timeout)


def _device_for_this_process() -> torch.device:
    """lstmkit's device, made ``cuda:LOCAL_RANK`` on GPUs unless LSTMKIT_DEVICE names one GPU."""
    current = backend.device()
    if current.type != "cuda":
        return current
    named = os.environ.get(backend.DEVICE_ENV_VAR, "")
    if named and torch.device(named).index is not None:
        chosen = current
    else:
        local, count = local_rank(), torch.cuda.device_count()
        if local >= count:
            raise ValueError(
                f"This process has LOCAL_RANK={local}, but the machine has {count} GPU(s); data-parallel training "
                f"uses one GPU per process. Launch at most {count} processes per machine "
                f"(torchrun --nproc_per_node={count}), or train on the CPU with LSTMKIT_DEVICE=cpu."
            )
        chosen = torch.device("cuda", local)
    torch.cuda.set_device(chosen)
    return backend.set_device(chosen)


def initialize(timeout=None) -> Context:
    """The job's process group, created on first use from torchrun's environment variables.

    timeout: seconds a collective may wait for the other processes before failing (default
        ``LSTMKIT_DISTRIBUTED_TIMEOUT`` or 300); used only when lstmkit creates the group.
    """
    global _context
    if _shut_down is not None:
        raise DistributedError(_shut_down)
    if not dist.is_available():
        raise RuntimeError(
            "This build of torch has no torch.distributed, so lstmkit cannot train in several "
            "processes. Install a standard torch build, or pass distributed=False."
        )
    if dist.is_initialized():
        if _context is None or _context.group is not dist.group.WORLD:
            _context = Context(created=False)
        return _context
    seconds = _timeout(timeout)
    device = _device_for_this_process()
    name = "nccl" if device.type == "cuda" else "gloo"
    if name == "nccl" and not dist.is_nccl_available():
        raise RuntimeError(
            "lstmkit computes on CUDA but this torch build has no NCCL. Set LSTMKIT_DEVICE=cpu "
            "to train with gloo on the CPU."
        )
    store = _attempt_store(seconds)
    if store is None:
        dist.init_process_group(name, timeout=timedelta(seconds=seconds))
    else:
        dist.init_process_group(
            name, store=store, rank=rank(), world_size=world_size(), timeout=timedelta(seconds=seconds)
        )
    _context = Context(created=True, timeout=seconds)
    return _context


def _attempt_store(seconds: float):
    """Under torchrun's agent, a store whose keys belong to this attempt (TORCHELASTIC_RESTART_COUNT).

    The agent keeps one store for all attempts; without a per-attempt prefix, the processes of a group
    restarted by ``--max-restarts`` read the connection addresses the killed attempt left in it and
    fail to connect ("Gloo connectFullMesh failed ... Connection refused"), so no restart could ever
    resume (see BackupAndRestore). None when not launched by torchrun's agent."""
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() != "true":
        return None
    attempt = _env_int("TORCHELASTIC_RESTART_COUNT", 0)
    address, port = os.environ.get("MASTER_ADDR", "127.0.0.1"), _env_int("MASTER_PORT", 0)
    client = dist.TCPStore(address, port, world_size(), False, timedelta(seconds=seconds))
    return dist.PrefixStore(f"/lstmkit/attempt_{attempt}", client)


def _release() -> None:
    """At exit, drop the store and end the group lstmkit created: left to the interpreter's teardown,
    their threads can abort the process (``terminate called without an active exception``)."""
    global _context, _failed
    context, _context = _context, None
    if _failed is not None:
        _failed.store, _failed = None, None
    if context is None:
        return
    context.store = None
    if context.created and dist.is_initialized():
        with suppress(Exception):
            dist.destroy_process_group()


atexit.register(_release)


def run_for(distributed, action: str) -> Run | None:
    """The distributed side of one fit/evaluate/predict call, or None to run in this process alone.

    distributed: 'auto' (distribute under torchrun with more than one process), True (the same, but an
    error when not launched that way) or False (never).
    """
    if not (
        distributed is True
        or distributed is False
        or (isinstance(distributed, str) and distributed == "auto")
    ):
        raise ValueError(f"distributed must be 'auto', True or False. Received: distributed={distributed!r}")
    if distributed is False:
        return None
    ready = dist.is_available() and dist.is_initialized()
    if (dist.get_world_size() if ready else _env_int("WORLD_SIZE", 1)) > 1:
        return Run(initialize(), action)
    if distributed is True:
        raise ValueError(
            f"{action}(distributed=True) needs several processes started by torchrun, but this process runs "
            f"alone (WORLD_SIZE is {os.environ.get('WORLD_SIZE', 'not set')}). Launch the script with "
            "`torchrun --nproc_per_node=2 script.py`, or leave distributed='auto' to train in one process "
            "when not launched that way."
        )
    return None


class Context:
    """The process group as the loops see it: rank, size, device, and the store for error messages."""

    def __init__(self, created: bool, timeout: float | None = None):
        self.group = dist.group.WORLD
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.backend = dist.get_backend()
        self.created = created
        self.timeout = timeout
        if self.backend == "nccl":
            self.device = _device_for_this_process()
        else:
            self.device = backend.device()
        try:  # the rendezvous store carries a failing process's message to the others
            self.store = dist.distributed_c10d._get_default_store()
        except Exception:  # noqa: BLE001 - a private API: without it the message is only less specific
            self.store = None
        self.calls = 0

    def shut_down(self, reason: str, keep_store: bool) -> None:
        """After a failure in the loops: end the group so that no process waits for this one. The
        process that failed keeps the store until exit (it may host the message the others read)."""
        global _context, _shut_down, _failed
        _shut_down = (
            f"{reason} The process group was shut down after that failure; restart the job "
            "(or pass distributed=False to compute in this process alone)."
        )
        _context = None
        if keep_store:
            _failed = self
        else:
            self.store = None
        with suppress(Exception):  # it may be broken already; the failure itself is being reported
            dist.destroy_process_group()


class Run:
    """One fit/evaluate/predict call across the processes: its collectives, and its failure handling."""

    def __init__(self, context: Context, action: str):
        context.calls += 1
        self.context, self.action = context, action
        self.rank, self.world_size, self.device = context.rank, context.world_size, context.device
        self.key = f"lstmkit/call-{context.calls}/error"
        self.shared: dict = {}

    # ------------------------------------------------------------------ collectives
    def _collective(self, fn, *args):
        try:
            return fn(*args)
        except Exception as error:  # a collective failed: find out why, and say it clearly
            raise DistributedError(self._peer_failure(error)) from error

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over the processes, in place."""
        self._collective(dist.all_reduce, tensor)
        return tensor

    def broadcast_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Overwrite ``tensor`` with rank 0's, in place."""
        self._collective(dist.broadcast, tensor, 0)
        return tensor

    def all_gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        pieces = [torch.empty_like(tensor) for _ in range(self.world_size)]
        self._collective(dist.all_gather, pieces, tensor)
        return pieces

    def any(self, flag: bool) -> bool:
        """True on every process if ``flag`` is true on any."""
        return bool(self.sum_(torch.tensor([float(bool(flag))], device=self.device)).item() > 0)

    # ------------------------------------------------------------------ agreement before the first collective
    def agree(self, error: BaseException | None, facts: dict, share: dict | None = None) -> None:
        """The first collective of a call: every process says whether it is ready and what it was given.

        Raises on every process when any failed (this process's own error is left to propagate) or when
        the processes were given different data. ``share`` (rank 0's) ends up in ``self.shared``.
        """
        mine = {
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "facts": facts,
            "share": share,
        }
        gathered: list = [None] * self.world_size
        self._collective(dist.all_gather_object, gathered, mine)
        failed = [(r, g["error"]) for r, g in enumerate(gathered) if g["error"] is not None]
        if error is not None:
            return
        if failed:
            quoted = "\n".join(f"  rank {r}: {message}" for r, message in failed)
            raise DistributedError(
                f"{self.action} stopped on every process because {len(failed)} of the "
                f"{self.world_size} processes failed while preparing:\n{quoted}"
            )
        for r, g in enumerate(gathered[1:], 1):
            if g["facts"] != gathered[0]["facts"]:
                raise ValueError(_disagreement(self.action, r, gathered[0]["facts"], g["facts"]))
        self.shared = gathered[0]["share"] or {}

    # ------------------------------------------------------------------ failures inside the loops
    def _peer_failure(self, error: BaseException) -> str:
        message = None
        store = self.context.store
        if store is not None:
            try:
                store.wait([self.key], _MESSAGE_WAIT)
                message = store.get(self.key).decode("utf-8", "replace")
            except Exception:  # noqa: BLE001 - no message arrived; say what is known
                message = None
        if message:
            return f"{self.action} stopped because another process failed: {message}"
        timeout = f" or the timeout ({self.context.timeout:g} s) passed" if self.context.timeout else ""
        return (
            f"{self.action} stopped: a collective operation failed ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Another process probably stopped{timeout}; "
            "its own output says why."
        )

    def fail(self, error: BaseException) -> None:
        """This process failed inside the loops: leave the message for the others, end the group."""
        if isinstance(error, DistributedError):
            self.context.shut_down(str(error), keep_store=False)
            return
        text = f"rank {self.rank}: {type(error).__name__}: {error}"
        if self.context.store is not None:
            with suppress(Exception):  # without it the others report a generic failure
                self.context.store.set(self.key, text)
        self.context.shut_down(f"{self.action} failed on {text}", keep_store=True)


class Setup:
    """``with Setup(run) as setup: ...; setup.facts = {...}`` around the preparations of a call: leaving
    the block runs the agreement (nothing without a run), so that an error on one process reaches all."""

    def __init__(self, run: Run | None, share: dict | None = None):
        self.run, self.facts, self.share = run, {}, share

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if self.run is None or (kind is not None and not issubclass(kind, Exception)):
            return False
        if error is None:
            self.run.agree(None, self.facts, self.share)
            return False
        try:
            self.run.agree(error, self.facts, self.share)
        except DistributedError:
            pass  # this process's own error is the one to report
        return False


@contextmanager
def guarded(run: Run | None):
    """Around the loops of a call: a failure here reaches the other processes at once (see the module doc)."""
    if run is None:
        yield
        return
    try:
        yield
    except Exception as error:
        run.fail(error)
        raise


def _disagreement(action: str, rank: int, reference: dict, other: dict) -> str:
    differing = [key for key in reference if reference.get(key) != other.get(key)] or sorted(other)
    key = differing[0]
    return (
        f"{action}: the processes were given different {key.replace('_', ' ')} (rank 0: {reference.get(key)}; "
        f"rank {rank}: {other.get(key)}). Under torchrun every process passes the same full data and lstmkit "
        "gives each its share; to feed each process its own data, pass a generator (read per process) with "
        "steps_per_epoch, or use distributed=False."
    )
