"""Shared helpers of the Hinton & Salakhutdinov (2006) plugin tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from ebmzoo import config as cfg
from ebmzoo.recipes import RunContext
from ebmzoo.registry import get_registry


def build_config(recipe: str, *overrides: str) -> Any:
    """The recipe's config with ``--set``-style overrides, through the core's config code."""
    entry = get_registry().recipe(recipe)
    values = dict(entry.defaults)
    for text in overrides:
        values = cfg.merge(values, cfg.parse_override(text, entry.config_type))
    return cfg.build(entry.config_type, values)


def context(out_dir: Path, *, seed: int = 0, resume: bool = False) -> RunContext:
    """A run context in ``out_dir`` on the CPU."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(out_dir=out_dir, seed=seed, resume=resume)


@pytest.fixture(autouse=True)
def _one_thread():
    # Bit-identical comparisons between runs need the same reduction order in every run.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
