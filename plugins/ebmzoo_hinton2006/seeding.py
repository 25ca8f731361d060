"""Independent, reproducible random streams derived from the run's one seed.

Every phase of a run (each RBM, each fine-tuning, the naive network's initial weights) draws
from its own ``torch.Generator``, seeded from the run's seed and the phase's name. A phase's
draws therefore do not depend on which other phases ran in the same process, which is what
lets a resumed run skip finished phases and still end with the same numbers.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["generator_for"]


def generator_for(seed: int, *names: object) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and the phase ``names``, e.g. ``("rbm", 2)``."""
    text = "/".join([str(seed), *map(str, names)])
    derived = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
    return torch.Generator().manual_seed(derived)
