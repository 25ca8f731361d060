"""The stacking contract: greedy layer-wise pretraining and unrolling.

A stacking strategy decides what a trained layer passes to the next one (in Hinton &
Salakhutdinov, 2006, the hidden probabilities) and how a finished stack of energy models is
unrolled into one deep network that backprop can fine-tune.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import torch

from ebmzoo.energy import EnergyModel
from ebmzoo.model import Model

__all__ = ["Stacker"]


class Stacker(abc.ABC):
    """Turns trained layers into data for the next layer, and a stack into a deep network."""

    @abc.abstractmethod
    def next_layer_data(self, model: EnergyModel, visible: torch.Tensor) -> torch.Tensor:
        """Data for the layer above ``model``.

        Shapes: ``(batch, n_visible)`` in, ``(batch, n_hidden)`` out.
        """

    @abc.abstractmethod
    def unroll(self, models: Sequence[EnergyModel]) -> Model:
        """Build the deep network that the trained stack ``models`` (bottom first) initialises."""
