"""The energy-model contract: what every RBM-like model in ebmzoo provides.

An energy model defines a joint distribution ``p(v, h) = exp(-E(v, h)) / Z`` over visible and
hidden units with tractable conditionals ``p(h | v)`` and ``p(v | h)``. Samplers, trainers,
stackers and the evaluation code (exact enumeration, annealed importance sampling) talk to
models only through this class.
"""

from __future__ import annotations

import abc

import torch

from ebmzoo.model import Model

__all__ = ["EnergyModel"]


class EnergyModel(Model):
    """A bipartite energy model with visible and hidden layers.

    Shapes: visible tensors are ``(batch, n_visible)``, hidden tensors ``(batch, n_hidden)``,
    energies and free energies ``(batch,)``. Randomness comes only from the ``generator``
    passed in, so runs are reproducible.
    """

    @property
    @abc.abstractmethod
    def n_visible(self) -> int:
        """Number of visible units."""

    @property
    @abc.abstractmethod
    def n_hidden(self) -> int:
        """Number of hidden units."""

    @abc.abstractmethod
    def energy(self, visible: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Energy ``E(v, h)`` of joint states, shape ``(batch,)``."""

    @abc.abstractmethod
    def free_energy(self, visible: torch.Tensor) -> torch.Tensor:
        """Free energy ``F(v) = -log sum_h exp(-E(v, h))``, shape ``(batch,)``.

        For real-valued hidden units the sum is an integral.
        """

    @abc.abstractmethod
    def hidden_mean(self, visible: torch.Tensor) -> torch.Tensor:
        """Mean of ``p(h | v)``: probabilities for binary units, means for real ones."""

    @abc.abstractmethod
    def visible_mean(self, hidden: torch.Tensor) -> torch.Tensor:
        """Mean of ``p(v | h)``: probabilities for binary units, means for real ones."""

    @abc.abstractmethod
    def sample_hidden(
        self, visible: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``h ~ p(h | v)``; returns ``(mean, sample)``, both ``(batch, n_hidden)``."""

    @abc.abstractmethod
    def sample_visible(
        self, hidden: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``v ~ p(v | h)``; returns ``(mean, sample)``, both ``(batch, n_visible)``."""

    def validate_visible(self, visible: torch.Tensor) -> None:
        """Raise :class:`~ebmzoo.errors.DataError` if ``visible`` cannot be fed to this model.

        The default checks the width and finiteness; models with bounded units check the range.
        """
        from ebmzoo.errors import DataError

        if visible.ndim != 2 or visible.shape[1] != self.n_visible:
            raise DataError(
                f"visible data has shape {tuple(visible.shape)}, but this model takes "
                f"(batch, {self.n_visible}); reshape the data or build the model for its width"
            )
        if not torch.isfinite(visible).all():
            raise DataError("visible data contains NaN or inf; clean the data before training")
