"""What a recipe's run function receives: the run directory and the launcher's choices.

The launcher (``ebmzoo run``) resolves the config, makes a fresh run directory and hands the
recipe a :class:`RunContext`. Recipes write everything they produce through it, so that every
file lands atomically inside the run directory and checkpoints are found again on resume.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from ebmzoo.io import atomic_write_text

__all__ = ["RunContext"]

T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    """The launcher's choices for one run of a recipe."""

    out_dir: Path
    """The run directory; it exists and belongs to this run alone."""

    seed: int
    """The seed of every random draw in the run (also recorded in ``config.json``)."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    """Where tensors live, ``cpu`` or ``cuda``."""

    data_root: Path | None = None
    """Folder with an existing copy of the data (``--data-root``), or ``None`` for the cache."""

    resume: bool = False
    """Whether the run continues from checkpoints already in :attr:`out_dir`."""

    progress: bool = False
    """Whether to draw progress bars (true on a terminal)."""

    rank: int = 0
    """This process's rank under torch.distributed (0 when not distributed)."""

    world_size: int = 1
    """Number of processes under torch.distributed (1 when not distributed)."""

    @property
    def is_main(self) -> bool:
        """True on the one process that writes files, logs and progress."""
        return self.rank == 0

    def path(self, name: str) -> Path:
        """Path of a file inside the run directory (sub-folders are created)."""
        target = self.out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented JSON, atomically, on the main process only."""
        target = self.path(name)
        if self.is_main:
            atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return target

    def track(self, iterable: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar on a terminal, plainly otherwise."""
        if self.progress and self.is_main:
            from tqdm import tqdm

            yield from tqdm(iterable, desc=desc, total=total, leave=False, dynamic_ncols=True)
        else:
            yield from iterable
