"""Pictures of a run: reconstructions, 2-d codes, first-layer filters and training curves.

Everything is drawn with matplotlib's Agg back end into PNG files, so no display is needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ebmzoo.io import atomic_path  # noqa: E402

__all__ = ["plot_codes", "plot_curves", "plot_filters", "plot_reconstructions"]


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_reconstructions(
    path: Path,
    originals: torch.Tensor,
    reconstructions: Mapping[str, torch.Tensor],
    image_shape: tuple[int, int],
) -> None:
    """Originals in the top row, each method's reconstructions in a row below.

    ``originals`` is ``(n, n_pixels)``; each reconstruction has the same shape.
    """
    rows = {"original": originals, **reconstructions}
    n = originals.shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 1.0), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(
                images[c].reshape(image_shape).clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, rotation=0, ha="right", va="center")
    _save(fig, path)


def plot_codes(path: Path, codes: Mapping[str, torch.Tensor], labels: torch.Tensor) -> None:
    """2-d test codes of each method side by side, coloured by digit class."""
    fig, axes = plt.subplots(1, len(codes), figsize=(5 * len(codes), 5), squeeze=False)
    for ax, (label, code) in zip(axes[0], codes.items(), strict=True):
        points = ax.scatter(
            code[:, 0].numpy(),
            code[:, 1].numpy(),
            c=labels.numpy(),
            cmap="tab10",
            s=2,
            vmin=-0.5,
            vmax=9.5,
        )
        ax.set_title(label)
    fig.colorbar(points, ax=axes[0].tolist(), ticks=range(10), label="digit")
    _save(fig, path)


def plot_filters(
    path: Path, filters: Mapping[str, torch.Tensor], image_shape: tuple[int, int]
) -> None:
    """First-layer filters as images, one grid per entry.

    Each entry is ``(n_filters, n_pixels)``: a row per hidden unit, its incoming weights.
    Each filter is scaled to its own symmetric range so its sign pattern is visible.
    """
    fig, axes = plt.subplots(1, len(filters), figsize=(6 * len(filters), 6), squeeze=False)
    for ax, (label, weights) in zip(axes[0], filters.items(), strict=True):
        n = weights.shape[0]
        side = math.ceil(math.sqrt(n))
        h, w = image_shape
        grid = torch.full((side * (h + 1), side * (w + 1)), float("nan"))
        for k in range(n):
            r, c = divmod(k, side)
            f = weights[k].reshape(h, w)
            grid[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = f / (
                f.abs().max() + 1e-12
            )
        ax.imshow(grid.numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.set_title(label)
        ax.axis("off")
    _save(fig, path)


def plot_curves(
    path: Path,
    pretrain: Sequence[Sequence[Mapping[str, float]]],
    finetune: Mapping[str, Sequence[Mapping[str, float]]],
) -> None:
    """Reconstruction error per epoch of each RBM (left) and test MSE of each fine-tuned
    network per epoch (right, log scale)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for depth, curve in enumerate(pretrain):
        if curve:
            left.plot(
                [p["epoch"] for p in curve],
                [p["reconstruction_error"] for p in curve],
                label=f"RBM {depth + 1}",
            )
    left.set_xlabel("epoch")
    left.set_ylabel("reconstruction error (training batches)")
    left.set_yscale("log")
    left.set_title("greedy pretraining")
    if any(pretrain):
        left.legend()
    for label, curve in finetune.items():
        if curve:
            right.plot([p["epoch"] for p in curve], [p["test_mse"] for p in curve], label=label)
    right.set_xlabel("epoch")
    right.set_ylabel("test MSE per pixel")
    right.set_yscale("log")
    right.set_title("fine-tuning")
    if any(finetune.values()):
        right.legend()
    _save(fig, path)
