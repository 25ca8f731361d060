"""Example ebmzoo plugin: a restricted Boltzmann machine whose units are spins in {-1, +1}.

With spins, ``E(v, h) = -v^T W h - b^T v - c^T h`` gives ``p(h_j = +1 | v) =
sigmoid(2 (W^T v + c)_j)`` and ``F(v) = -b^T v - sum_j log(2 cosh((W^T v + c)_j))``.
The module registers the model and one subcommand through ebmzoo's hooks.
"""

from __future__ import annotations

import click
import torch
import torch.nn.functional as F

from ebmzoo import hookimpl
from ebmzoo.energy import EnergyModel
from ebmzoo.records import CommandEntry, ModelEntry

__all__ = ["SpinRBM"]


class SpinRBM(EnergyModel):
    """An RBM over spins; visible and hidden tensors hold -1.0 and +1.0."""

    def __init__(self, n_visible: int, n_hidden: int) -> None:
        super().__init__()
        self._sizes = (n_visible, n_hidden)
        self.weight = torch.nn.Parameter(0.1 * torch.randn(n_visible, n_hidden))
        self.visible_bias = torch.nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = torch.nn.Parameter(torch.zeros(n_hidden))

    @property
    def config(self) -> dict:
        return {"n_visible": self._sizes[0], "n_hidden": self._sizes[1]}

    @property
    def n_visible(self) -> int:
        return self._sizes[0]

    @property
    def n_hidden(self) -> int:
        return self._sizes[1]

    def energy(self, visible, hidden):
        coupling = ((visible @ self.weight) * hidden).sum(1)
        return -coupling - visible @ self.visible_bias - hidden @ self.hidden_bias

    def free_energy(self, visible):
        field = visible @ self.weight + self.hidden_bias
        log_2cosh = F.softplus(2 * field) - field  # log(e^x + e^-x), computed stably
        return -visible @ self.visible_bias - log_2cosh.sum(1)

    def hidden_mean(self, visible):
        return torch.tanh(visible @ self.weight + self.hidden_bias)

    def visible_mean(self, hidden):
        return torch.tanh(hidden @ self.weight.T + self.visible_bias)

    def sample_hidden(self, visible, generator=None):
        return self._sample(self.hidden_mean(visible), generator)

    def sample_visible(self, hidden, generator=None):
        return self._sample(self.visible_mean(hidden), generator)

    @staticmethod
    def _sample(mean, generator):
        # A spin is +1 with probability (1 + mean) / 2.
        up = torch.rand(mean.shape, generator=generator, dtype=mean.dtype) < (1 + mean) / 2
        return mean, up.to(mean.dtype) * 2 - 1


@click.command(name="spin-demo")
@click.option("--n-visible", default=4, show_default=True)
def spin_demo(n_visible: int) -> None:
    """Print the free energy of the all-up state of a fresh SpinRBM."""
    torch.manual_seed(0)
    model = SpinRBM(n_visible, 3)
    click.echo(f"free energy: {model.free_energy(torch.ones(1, n_visible)).item():.6f}")


@hookimpl
def ebmzoo_models():
    return [ModelEntry("spin-rbm", SpinRBM, "RBM with +-1 spin units (example plugin)")]


@hookimpl
def ebmzoo_commands():
    return [CommandEntry("spin-demo", spin_demo)]
