"""PCA, the linear baseline of Hinton & Salakhutdinov (2006), fitted on the training set only.

The fit centres the training data and keeps the leading eigenvectors of its covariance; codes
are projections onto them and reconstructions map codes back and add the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ebmzoo.errors import ConfigError

__all__ = ["PCA", "fit_pca"]


@dataclass(frozen=True)
class PCA:
    """A fitted PCA with ``n_components`` components."""

    mean: torch.Tensor
    """Training mean, ``(n_features,)``."""

    components: torch.Tensor
    """Orthonormal principal directions as columns, ``(n_features, n_components)``, by
    decreasing variance."""

    explained_variance: torch.Tensor
    """Training variance along each direction, ``(n_components,)``."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(batch, n_components)`` of ``x``, ``(batch, n_features)``."""
        return (x - self.mean) @ self.components

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Reconstructions ``(batch, n_features)`` of codes; not clipped to ``[0, 1]``."""
        return code @ self.components.T + self.mean

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))``."""
        return self.decode(self.encode(x))


def fit_pca(train_x: torch.Tensor, n_components: int) -> PCA:
    """Fit PCA to ``train_x``, ``(n_samples, n_features)``.

    The covariance is accumulated in float64 (it is only ``n_features`` squared) so that the
    small eigenvalues keep their precision; the result is float32 like the data. Each
    direction's sign is fixed so that its largest-magnitude entry is positive.
    """
    n_samples, n_features = train_x.shape
    if not 1 <= n_components <= min(n_samples, n_features):
        raise ConfigError(
            f"PCA with {n_components} components needs 1..{min(n_samples, n_features)} "
            "(the smaller of training images and features); change the code size"
        )
    x = train_x.to(torch.float64)
    mean = x.mean(dim=0)
    centred = x - mean
    covariance = centred.T @ centred / max(n_samples - 1, 1)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)

    order = torch.argsort(eigenvalues, descending=True)[:n_components]
    components = eigenvectors[:, order]
    signs = torch.sign(components.gather(0, components.abs().argmax(dim=0, keepdim=True)))
    components = components * signs
    return PCA(
        mean=mean.to(torch.float32),
        components=components.to(torch.float32).contiguous(),
        explained_variance=eigenvalues[order].clamp_min(0).to(torch.float32),
    )
