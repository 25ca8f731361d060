"""Reconstruction errors and code quality, as reported in ``metrics.json``.

``test_mse`` is the squared error averaged over pixels and test images, with pixels in
``[0, 1]``; ``test_sse_per_image`` sums over pixels and averages over images, the number
Hinton & Salakhutdinov (2006) report. So ``test_sse_per_image = n_pixels * test_mse``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["batched", "knn_accuracy", "reconstruction_errors"]


def batched(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 10000
) -> torch.Tensor:
    """``fn`` applied to ``x`` in slices of ``batch_size`` rows, without gradients."""
    with torch.no_grad():
        return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def reconstruction_errors(x: torch.Tensor, reconstruction: torch.Tensor) -> dict[str, float]:
    """``{"test_mse", "test_sse_per_image"}`` of ``reconstruction`` against ``x``.

    Both are ``(n_images, n_pixels)``. Sums are taken in float64 so that 10000 images of 784
    pixels lose no precision.
    """
    squared = (x.to(torch.float64) - reconstruction.to(torch.float64)) ** 2
    return {
        "test_mse": float(squared.mean()),
        "test_sse_per_image": float(squared.sum(dim=1).mean()),
    }


def knn_accuracy(
    train_codes: torch.Tensor,
    train_y: torch.Tensor,
    test_codes: torch.Tensor,
    test_y: torch.Tensor,
    k: int,
) -> float:
    """Accuracy on the test codes of a ``k``-nearest-neighbour vote among training codes.

    Euclidean distance; ties in the vote go to the smaller label. Codes are
    ``(n, code_size)``, labels ``(n,)`` integers.
    """
    k = min(k, len(train_codes))
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    train = train_codes.to(torch.float32)
    train_sq = (train**2).sum(dim=1)
    correct = 0
    for start in range(0, len(test_codes), 1000):
        query = test_codes[start : start + 1000].to(torch.float32)
        # |q - t|^2 without the |q|^2 term, which does not change the ranking of t.
        distances = train_sq[None, :] - 2 * query @ train.T
        nearest = distances.topk(k, dim=1, largest=False).indices
        votes = torch.zeros(len(query), n_classes).scatter_add_(
            1, train_y[nearest], torch.ones(nearest.shape)
        )
        predicted = votes.argmax(dim=1)
        correct += int((predicted == test_y[start : start + 1000]).sum())
    return correct / len(test_codes)
