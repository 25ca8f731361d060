"""Restricted Boltzmann machines with Bernoulli visible units.

Two models share one parameterisation, a weight matrix ``weight`` of shape
``(n_visible, n_hidden)`` and the biases ``visible_bias`` and ``hidden_bias``, and differ only in
their hidden units. :class:`BernoulliRBM` has binary hidden units; :class:`GaussianHiddenRBM`
has linear hidden units with unit-variance Gaussian noise, the top layer of the deep
autoencoder of Hinton & Salakhutdinov (2006). Visible units are Bernoulli in both and accept
real values in ``[0, 1]``, read as probabilities.

The energy of a joint state is

    E(v, h) = -v.b - h.c - v W h + s(h),

with ``s(h) = 0`` for binary hidden units and ``s(h) = |h|^2 / 2`` for Gaussian ones, so that
``p(h | v)`` is a product of Bernoullis with means ``sigmoid(c + v W)`` or a unit-variance
normal with mean ``c + v W``, and ``p(v | h)`` is a product of Bernoullis with means
``sigmoid(b + W h)``.

References:
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data with neural
    networks", Science 313 (2006), 504-507, and its supporting online material.
    G. E. Hinton, "A practical guide to training restricted Boltzmann machines", UTML TR
    2010-003 (2010).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import torch

from ebmzoo.energy import EnergyModel
from ebmzoo.errors import ConfigError, DataError

__all__ = ["RBM", "BernoulliRBM", "GaussianHiddenRBM", "bernoulli_into", "softplus"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class RBM(EnergyModel):
    """The shared part of the RBMs in this module: Bernoulli visible units, one weight matrix.

    Subclasses choose the hidden units by implementing the four ``_hidden_*`` methods, which
    work on the hidden *activation* ``c + v W`` of shape ``(batch, n_hidden)``. Everything
    else (energy, free energy, conditionals, Gibbs sampling) is written once here.

    Args:
        n_visible: number of visible units.
        n_hidden: number of hidden units.
        init_std: standard deviation of the normal the weights are drawn from; biases start at 0.
        dtype: ``"float32"`` (default) or ``"float64"``.
        generator: source of the initial weights (a CPU generator); not part of the config.
        device: where the parameters live; not part of the config.
    """

    hidden_is_binary: bool
    """Whether hidden units take values in ``{0, 1}`` (so the hidden side can be enumerated)."""

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        init_std: float = 0.1,
        dtype: str = "float32",
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}={value!r} is not a positive integer; pass e.g. 784")
        if not math.isfinite(init_std) or init_std < 0:
            raise ConfigError(f"init_std={init_std!r} must be a finite number >= 0, e.g. 0.1")
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype={dtype!r} is not supported; use one of {sorted(_DTYPES)}")
        self._n_visible = n_visible
        self._n_hidden = n_hidden
        self._init_std = float(init_std)
        self._dtype_name = dtype

        torch_dtype = _DTYPES[dtype]
        # Draw on the CPU so that a seed gives the same weights on every device.
        weight = torch.randn(n_visible, n_hidden, generator=generator, dtype=torch_dtype)
        weight.mul_(init_std)
        self.weight = torch.nn.Parameter(weight.to(device))
        self.visible_bias = torch.nn.Parameter(
            torch.zeros(n_visible, dtype=torch_dtype, device=device)
        )
        self.hidden_bias = torch.nn.Parameter(
            torch.zeros(n_hidden, dtype=torch_dtype, device=device)
        )

    # -- config ---------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """``n_visible``, ``n_hidden``, ``init_std`` and ``dtype``, as given to ``__init__``."""
        return {
            "n_visible": self._n_visible,
            "n_hidden": self._n_hidden,
            "init_std": self._init_std,
            "dtype": self._dtype_name,
        }

    @property
    def n_visible(self) -> int:
        """Number of visible units."""
        return self._n_visible

    @property
    def n_hidden(self) -> int:
        """Number of hidden units."""
        return self._n_hidden

    # -- the hidden units: what subclasses define ----------------------------------------------

    @abc.abstractmethod
    def _hidden_mean_(self, activation: torch.Tensor) -> torch.Tensor:
        """Turn the activation ``(batch, n_hidden)`` into ``E[h | v]`` in place; return it."""

    @abc.abstractmethod
    def _hidden_sample_into(
        self,
        mean: torch.Tensor,
        out: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Write a draw of ``h`` given its conditional ``mean`` into ``out``; return ``out``.

        Both tensors are ``(batch, n_hidden)``; ``out`` may not be ``mean``.
        """

    @abc.abstractmethod
    def _hidden_log_partition(self, activation: torch.Tensor) -> torch.Tensor:
        """``log sum_h exp(h . a - s(h))`` (an integral for real units) per row, ``(batch,)``."""

    @abc.abstractmethod
    def _hidden_self_energy(self, hidden: torch.Tensor) -> torch.Tensor:
        """The term ``s(h)`` of the energy that involves hidden units alone, ``(batch,)``."""

    # -- the energy-model contract -------------------------------------------------------------

    def energy(self, visible: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Energy ``E(v, h)`` of joint states ``(batch, n_visible)``, ``(batch, n_hidden)``.

        Returns:
            ``(batch,)``.
        """
        interaction = ((visible @ self.weight) * hidden).sum(dim=1)
        return (
            -(visible @ self.visible_bias)
            - (hidden @ self.hidden_bias)
            - interaction
            + self._hidden_self_energy(hidden)
        )

    def free_energy(self, visible: torch.Tensor) -> torch.Tensor:
        """Free energy ``F(v) = -log sum_h exp(-E(v, h))`` of ``(batch, n_visible)``; ``(batch,)``.

        For Gaussian hidden units the sum is an integral.
        """
        activation = torch.addmm(self.hidden_bias, visible, self.weight)
        return -(visible @ self.visible_bias) - self._hidden_log_partition(activation)

    def hidden_free_energy(self, hidden: torch.Tensor) -> torch.Tensor:
        """``-log sum_v exp(-E(v, h))`` of hidden states ``(batch, n_hidden)``, ``(batch,)``.

        Used to enumerate the hidden side when it is the smaller one.
        """
        activation = torch.addmm(self.visible_bias, hidden, self.weight.T)
        return (
            -(hidden @ self.hidden_bias)
            + self._hidden_self_energy(hidden)
            - softplus(activation).sum(dim=1)
        )

    def hidden_mean(self, visible: torch.Tensor) -> torch.Tensor:
        """``E[h | v]`` for visible ``(batch, n_visible)``; returns ``(batch, n_hidden)``."""
        return self._hidden_mean_(torch.addmm(self.hidden_bias, visible, self.weight))

    def visible_mean(self, hidden: torch.Tensor) -> torch.Tensor:
        """``p(v_i = 1 | h)`` for hidden ``(batch, n_hidden)``; returns ``(batch, n_visible)``."""
        return torch.addmm(self.visible_bias, hidden, self.weight.T).sigmoid_()

    @torch.no_grad()
    def sample_hidden(
        self, visible: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``h ~ p(h | v)`` for visible ``(batch, n_visible)``, outside autograd.

        Returns:
            ``(mean, sample)``, both ``(batch, n_hidden)``.
        """
        mean = self.hidden_mean(visible)
        return mean, self._hidden_sample_into(mean, torch.empty_like(mean), generator)

    @torch.no_grad()
    def sample_visible(
        self, hidden: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``v ~ p(v | h)`` for hidden ``(batch, n_hidden)``, outside autograd.

        Returns:
            ``(mean, sample)``, both ``(batch, n_visible)``; the sample is 0.0 or 1.0.
        """
        mean = self.visible_mean(hidden)
        return mean, bernoulli_into(mean, torch.empty_like(mean), generator)

    def validate_visible(self, visible: torch.Tensor) -> None:
        """Raise :class:`~ebmzoo.errors.DataError` unless ``visible`` is finite, in ``[0, 1]``,
        and ``(batch, n_visible)``.
        """
        super().validate_visible(visible)
        if visible.numel() == 0:
            return
        low, high = torch.aminmax(visible)
        if low < 0 or high > 1:
            raise DataError(
                f"visible data lies in [{low.item():g}, {high.item():g}], but Bernoulli visible "
                "units take values in [0, 1]; rescale the data, e.g. divide pixels by 255"
            )

    # -- generation ----------------------------------------------------------------------------

    @torch.no_grad()
    def gibbs(
        self, visible: torch.Tensor, steps: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Run block Gibbs chains ``v -> h -> v`` from ``visible`` for ``steps`` full steps.

        Args:
            visible: starting states, ``(chains, n_visible)``, values in ``[0, 1]``; real values
                are used as they are for the first hidden draw.
            steps: number of full steps, ``>= 1``.
            generator: the source of randomness (on the model's device).

        Returns:
            The visible probabilities ``p(v | h)`` after the last step, ``(chains, n_visible)``.
        """
        if steps < 1:
            raise ConfigError(f"steps={steps!r} must be at least 1; pass e.g. steps=1000")
        self.validate_visible(visible)
        state = visible.to(dtype=self.weight.dtype, device=self.weight.device)
        for step in range(steps):
            _, hidden = self.sample_hidden(state, generator)
            mean = self.visible_mean(hidden)
            if step + 1 < steps:
                state = bernoulli_into(mean, torch.empty_like(mean), generator)
        return mean

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, dtype={self._dtype_name}"


class BernoulliRBM(RBM):
    """An RBM with binary visible and binary hidden units.

    Visible inputs may be real values in ``[0, 1]``, read as probabilities; Hinton &
    Salakhutdinov (2006) train on grey-level MNIST pixels this way.
    """

    hidden_is_binary = True

    def _hidden_mean_(self, activation: torch.Tensor) -> torch.Tensor:
        return activation.sigmoid_()

    def _hidden_sample_into(
        self,
        mean: torch.Tensor,
        out: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        return bernoulli_into(mean, out, generator)

    def _hidden_log_partition(self, activation: torch.Tensor) -> torch.Tensor:
        return softplus(activation).sum(dim=1)

    def _hidden_self_energy(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden.new_zeros(hidden.shape[0])


class GaussianHiddenRBM(RBM):
    """An RBM with binary visible units and linear hidden units with unit-variance noise.

    ``p(h | v)`` is the normal ``N(c + v W, I)``: the mean is the linear activation, and a
    sample adds standard normal noise. This is the code layer of the deep autoencoder of
    Hinton & Salakhutdinov (2006), trained with a learning rate about 100 times smaller than
    binary layers because the hidden states are unbounded.
    """

    hidden_is_binary = False

    def _hidden_mean_(self, activation: torch.Tensor) -> torch.Tensor:
        return activation

    def _hidden_sample_into(
        self,
        mean: torch.Tensor,
        out: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        torch.randn(out.shape, generator=generator, out=out)
        return out.add_(mean)

    def _hidden_log_partition(self, activation: torch.Tensor) -> torch.Tensor:
        # The Gaussian integral: int exp(h.a - |h|^2 / 2) dh = (2 pi)^(n/2) exp(|a|^2 / 2).
        return 0.5 * activation.square().sum(dim=1) + 0.5 * self.n_hidden * math.log(2 * math.pi)

    def _hidden_self_energy(self, hidden: torch.Tensor) -> torch.Tensor:
        return 0.5 * hidden.square().sum(dim=1)


def bernoulli_into(
    probability: torch.Tensor, out: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """Write Bernoulli draws with the given ``probability`` into ``out`` as 0.0 / 1.0.

    Draws uniforms into ``out`` and compares them with ``probability`` in place, which avoids
    the temporary tensors of ``torch.bernoulli``. ``out`` must have ``probability``'s shape and
    dtype and may not be ``probability`` itself.
    """
    torch.rand(out.shape, generator=generator, out=out)
    return torch.lt(out, probability, out=out)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))``, elementwise, written as ``max(x, 0) + log(1 + exp(-|x|))``.

    Accurate to a unit in the last place of the result, and built from vectorised ``exp`` and
    ``log``: on CPUs PyTorch's ``softplus`` and ``log1p`` kernels are scalar loops, about eight
    times slower, which showed in profiles of free energies (and ``softplus`` returns ``x``
    itself above 20, an error of ``2e-9`` that float64 enumeration tests notice).
    """
    return x.clamp(min=0) + torch.log(torch.exp(-x.abs()) + 1)
