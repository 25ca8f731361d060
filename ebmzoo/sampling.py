"""The sampler contract: how the negative phase of a contrastive-divergence step is produced.

A sampler hands the trainer fantasy particles whose statistics approximate the model's
expectation. CD-k restarts its chains from the data every step; persistent CD keeps chains
between steps, and its state travels with checkpoints through :meth:`Sampler.state_dict`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import torch

from ebmzoo.energy import EnergyModel

__all__ = ["NegativePhase", "Sampler"]


@dataclass(frozen=True)
class NegativePhase:
    """The fantasy particles of one step, from which negative statistics are taken."""

    visible: torch.Tensor
    """Visible states or probabilities at the end of the chains, ``(chains, n_visible)``."""

    hidden_mean: torch.Tensor
    """Hidden means given :attr:`visible`, ``(chains, n_hidden)``."""


class Sampler(abc.ABC):
    """Produces the negative phase of a training step."""

    @abc.abstractmethod
    def negative_phase(
        self,
        model: EnergyModel,
        visible: torch.Tensor,
        hidden_sample: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> NegativePhase:
        """Run the chains for one training step.

        Args:
            model: the model being trained.
            visible: the data batch, ``(batch, n_visible)``.
            hidden_sample: hidden states sampled from ``p(h | visible)``, ``(batch, n_hidden)``;
                CD starts its chains here, persistent samplers may ignore it.
            generator: the source of randomness.

        Returns:
            The fantasy particles whose statistics stand for the model's expectation.
        """

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors that must be saved with a checkpoint to resume exactly (none by default)."""
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got keys {sorted(state)}")
