"""The data-set contract: a named source of train and test tensors.

Providers return flat float tensors in ``[0, 1]`` with integer labels, already split, so that
every recipe sees the same split of the same data. Where a provider reads files, the caller
says where they are (``root``) and whether downloading is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Dataset", "DatasetRequest"]


@dataclass(frozen=True)
class DatasetRequest:
    """What a recipe asks a dataset provider for."""

    root: Path | None = None
    """Folder holding an existing copy (e.g. ``../shared/data``); ``None`` uses the cache."""

    download: bool = True
    """Whether the provider may fetch missing files from the network."""


@dataclass(frozen=True)
class Dataset:
    """A split data set of flattened images (or any vectors) in ``[0, 1]``."""

    name: str
    """Registered name, e.g. ``"mnist"``."""

    train_x: torch.Tensor
    """Training inputs, ``(n_train, n_features)``, float32 in ``[0, 1]``."""

    train_y: torch.Tensor
    """Training labels, ``(n_train,)``, int64."""

    test_x: torch.Tensor
    """Test inputs, ``(n_test, n_features)``, float32 in ``[0, 1]``."""

    test_y: torch.Tensor
    """Test labels, ``(n_test,)``, int64."""

    image_shape: tuple[int, int]
    """Height and width of one image, for pictures, e.g. ``(28, 28)``."""

    licence: str
    """Licence of the data, e.g. ``"CC BY-SA 3.0"``."""
