"""torch.distributed glue for ``ebmzoo run`` under ``torchrun``.

On one process everything here is a no-op. Under ``torchrun`` (``WORLD_SIZE`` > 1) the launcher
joins the process group, agrees on one run directory, and leaves the group at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

__all__ = ["agree_on_run_dir", "is_distributed", "setup", "teardown"]


def is_distributed() -> bool:
    """True when the process group is up with more than one process."""
    return (
        torch.distributed.is_available()
        and torch.distributed.is_initialized()
        and torch.distributed.get_world_size() > 1
    )


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group when started by torchrun; returns ``(rank, world_size)``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1
    if not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def teardown() -> None:
    """Leave the process group, if this process joined one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def agree_on_run_dir(make: Callable[[], Path]) -> Path:
    """Rank 0 makes the run directory; every rank gets its path."""
    if not is_distributed():
        return make()
    holder = [str(make()) if torch.distributed.get_rank() == 0 else None]
    torch.distributed.broadcast_object_list(holder, src=0)
    return Path(holder[0])
