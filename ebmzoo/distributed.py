"""torch.distributed glue for ``ebmzoo run`` under ``torchrun``: process group, shards, sums.

On one process everything here is a no-op, so recipes call these functions unconditionally.
Under ``torchrun`` (``WORLD_SIZE`` > 1) the launcher joins the process group, agrees on one run
directory and quiets the logs of every rank but 0; recipes split each global mini-batch with
:func:`shard_rows` and combine what the ranks computed with :func:`all_reduce_mean_` and
:func:`all_reduce_sum_`. CPU tensors travel through gloo, CUDA tensors through NCCL.

A collective that waits longer than ``EBMZOO_DIST_TIMEOUT`` seconds (default 300) for a peer
fails instead of hanging, so a process that is stuck or gone without ``torchrun`` noticing
ends the run within minutes rather than after torch's default half hour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from ebmzoo.errors import ConfigError, EbmzooError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "agree",
    "agree_on_run_dir",
    "all_reduce_mean_",
    "all_reduce_sum_",
    "barrier",
    "is_distributed",
    "local_device",
    "main_first",
    "peer_failure",
    "quiet_other_ranks",
    "setup",
    "shard_rows",
    "teardown",
    "timeout",
]

DEFAULT_TIMEOUT_S = 300.0
"""Seconds a collective waits for its peers unless ``EBMZOO_DIST_TIMEOUT`` says otherwise."""


def is_distributed() -> bool:
    """True when the process group is up with more than one process."""
    return (
        torch.distributed.is_available()
        and torch.distributed.is_initialized()
        and torch.distributed.get_world_size() > 1
    )


def timeout() -> dt.timedelta:
    """How long a collective waits for its peers: ``EBMZOO_DIST_TIMEOUT`` seconds, or 300."""
    text = os.environ.get("EBMZOO_DIST_TIMEOUT", "")
    if not text:
        return dt.timedelta(seconds=DEFAULT_TIMEOUT_S)
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(
            f"EBMZOO_DIST_TIMEOUT={text!r} is not a positive number of seconds; set e.g. 600"
        )
    return dt.timedelta(seconds=seconds)


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group when started by torchrun; returns ``(rank, world_size)``.

    With ``device`` on CUDA each process first selects GPU ``LOCAL_RANK``; the group then
    carries CUDA tensors over NCCL and CPU tensors over gloo (the RBMs train on the CPU).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1
    if not torch.distributed.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            backend = "cpu:gloo,cuda:nccl"
        else:
            backend = "gloo"
        torch.distributed.init_process_group(backend=backend, timeout=timeout())
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def local_device(device: torch.device) -> torch.device:
    """``device`` made explicit for this process: ``cuda`` becomes ``cuda:LOCAL_RANK``."""
    if device.type != "cuda" or device.index is not None:
        return device
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def teardown() -> None:
    """Leave the process group, if this process joined one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def quiet_other_ranks(rank: int, world_size: int) -> None:
    """Log only warnings and errors on ranks other than 0, each line marked with its rank."""
    if world_size <= 1:
        return
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s rank {rank} %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
            )
        )
    if rank != 0:
        root.setLevel(logging.WARNING)


def agree_on_run_dir(make: Callable[[], Path]) -> Path:
    """Rank 0 makes the run directory; every rank gets its path."""
    if not is_distributed():
        return make()
    holder = [str(make()) if torch.distributed.get_rank() == 0 else None]
    torch.distributed.broadcast_object_list(holder, src=0)
    return Path(holder[0])


def shard_rows(rows: int, rank: int, world_size: int) -> tuple[int, int]:
    """This rank's contiguous part ``[start, stop)`` of a global batch of ``rows`` rows.

    The parts cover the batch in rank order and differ in size by at most one row; when the
    batch has fewer rows than there are ranks, some parts are empty.
    """
    return rank * rows // world_size, (rank + 1) * rows // world_size


def all_reduce_mean_(tensor: torch.Tensor) -> torch.Tensor:
    """Replace ``tensor`` on every rank by its mean over the ranks; return it.

    Every rank receives the same bits, so replicas that apply the result stay identical.
    """
    if is_distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        tensor.div_(torch.distributed.get_world_size())
    return tensor


def all_reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Replace ``tensor`` on every rank by its sum over the ranks; return it."""
    if is_distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    """Wait until every rank has arrived here."""
    if is_distributed():
        torch.distributed.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Run the block on rank 0 first and on the other ranks after it, e.g. a download.

    All ranks leave the block together, so that none starts timing the next step early.
    """
    main = not is_distributed() or torch.distributed.get_rank() == 0
    if not main:
        barrier()
    yield
    if main:
        barrier()
    barrier()


def agree(value: Any, what: str) -> None:
    """Raise :class:`~ebmzoo.errors.EbmzooError` unless every rank passes an equal ``value``.

    ``what`` names the value in the message, e.g. ``"the epoch of checkpoint rbm1"``.
    """
    if not is_distributed():
        return
    values: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        seen = ", ".join(f"rank {rank}: {v!r}" for rank, v in enumerate(values))
        raise EbmzooError(
            f"the processes disagree on {what} ({seen}); the run directory must be on a file "
            "system that every process sees"
        )


_TRANSPORT_MARKERS = ("gloo", "NCCL", "Connection reset by peer", "Connection closed by peer")


def peer_failure(error: BaseException, rank: int) -> EbmzooError | None:
    """The one-line error for ``error`` if it says that a peer process failed, else ``None``.

    gloo and NCCL report a dead or stuck peer as a plain ``RuntimeError`` whose message names
    the transport, so besides torch's ``DistError`` the message is what identifies it.
    """
    if not isinstance(error, RuntimeError):
        return None
    text = str(error)
    is_dist_error = isinstance(error, getattr(torch.distributed, "DistError", ()))
    if not (is_dist_error or any(marker in text for marker in _TRANSPORT_MARKERS)):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    first = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". This is typically")[0]
    return EbmzooError(
        f"rank {rank} lost contact with the other processes ({first}); another process failed "
        "or was killed, and torchrun's report names its rank"
    )
