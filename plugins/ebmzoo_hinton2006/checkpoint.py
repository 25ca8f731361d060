"""Checkpoints for resuming: tensors in a safetensors file, small scalars as JSON inside it.

One checkpoint is one file, written atomically by :func:`ebmzoo.weights.write_tensors`, so a
run killed at any moment finds either the previous checkpoint or the new one, never a mix.
Tensors (weights, optimiser moments, generator states) are stored by name; everything else
(epoch counters, curves, optimiser settings) is a JSON document in the file's metadata.
Nothing is pickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ebmzoo.errors import WeightsError
from ebmzoo.weights import read_tensors, write_tensors

__all__ = [
    "load_checkpoint",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "save_checkpoint",
]

_STATE_KEY = "ebmzoo_checkpoint_state"


def save_checkpoint(
    path: Path, tensors: Mapping[str, torch.Tensor], state: Mapping[str, Any]
) -> None:
    """Write ``tensors`` and the JSON-able ``state`` to ``path`` atomically."""
    write_tensors(path, tensors, {_STATE_KEY: json.dumps(state)})


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read what :func:`save_checkpoint` wrote: ``(tensors, state)``."""
    tensors, metadata = read_tensors(path)
    try:
        state = json.loads(metadata[_STATE_KEY])
    except (KeyError, ValueError):
        raise WeightsError(
            f"{str(path)!r} is not a checkpoint of this pipeline (no readable state); delete "
            "it to restart that phase, or run without --resume"
        ) from None
    return tensors, state


def optimizer_to_flat(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's state dict into named tensors and JSON-able settings."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, slots in sd["state"].items():
        for slot, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{slot}"] = value
            else:
                scalars.setdefault(str(index), {})[slot] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(
    optimizer: torch.optim.Optimizer,
    tensors: Mapping[str, torch.Tensor],
    settings: Mapping[str, Any],
    prefix: str,
) -> None:
    """Load into ``optimizer`` what :func:`optimizer_to_flat` produced."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        index, slot = name[len(prefix) + 1 :].split(".", 1)
        state.setdefault(int(index), {})[slot] = value
    for index, slots in settings["scalars"].items():
        state.setdefault(int(index), {}).update(slots)
    optimizer.load_state_dict({"state": state, "param_groups": settings["param_groups"]})
