"""Contrastive divergence (CD-k) and persistent contrastive divergence (PCD) for the RBMs.

Both samplers implement :class:`ebmzoo.sampling.Sampler` for the models of
:mod:`ebmzoo_rbm.models`. They write their chains into buffers they keep between calls, so a
training epoch allocates nothing per batch; the tensors of a returned
:class:`~ebmzoo.sampling.NegativePhase` are therefore overwritten by the next call.

References:
    G. E. Hinton, "Training products of experts by minimizing contrastive divergence",
    Neural Computation 14 (2002), 1771-1800.
    T. Tieleman, "Training restricted Boltzmann machines using approximations to the
    likelihood gradient", ICML 2008.
"""

from __future__ import annotations

import torch

from ebmzoo.errors import ConfigError
from ebmzoo.sampling import NegativePhase, Sampler
from ebmzoo_rbm.models import RBM, bernoulli_into

__all__ = ["ContrastiveDivergence", "PersistentContrastiveDivergence"]


def _check_positive(name: str, value: object, example: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name}={value!r} must be an integer >= 1; pass e.g. {example}")
    return value


class _Buffers:
    """Tensors reused from call to call while shape, dtype and device stay the same."""

    def __init__(self) -> None:
        self._cache: dict[str, torch.Tensor] = {}

    def get(self, name: str, like: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        buf = self._cache.get(name)
        if (
            buf is None
            or buf.shape != (rows, cols)
            or buf.dtype != like.dtype
            or buf.device != like.device
        ):
            buf = torch.empty(rows, cols, dtype=like.dtype, device=like.device)
            self._cache[name] = buf
        return buf


def _hidden_mean_into(model: RBM, visible: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    torch.addmm(model.hidden_bias, visible, model.weight, out=out)
    return model._hidden_mean_(out)


def _visible_mean_into(model: RBM, hidden: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    torch.addmm(model.visible_bias, hidden, model.weight.T, out=out)
    return out.sigmoid_()


class ContrastiveDivergence(Sampler):
    """CD-k: ``k`` Gibbs steps started at the hidden states drawn from the data.

    As in Hinton's code for the 2006 paper, the chain is driven by sampled hidden states, the
    last visible state is the vector of probabilities ``p(v | h)`` (no sampling noise), and the
    negative hidden statistics are the probabilities ``p(h | v)``. For ``k > 1`` the visible
    states of the intermediate steps are sampled, so that the chain is a proper Gibbs chain.

    Args:
        k: number of Gibbs steps, ``>= 1``.
    """

    def __init__(self, k: int = 1) -> None:
        self.k = _check_positive("k", k, "k=1")
        self._buffers = _Buffers()

    @torch.no_grad()
    def negative_phase(
        self,
        model: RBM,
        visible: torch.Tensor,
        hidden_sample: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> NegativePhase:
        """Run CD-k from ``hidden_sample`` ``(batch, n_hidden)``; see the class docstring.

        Returns:
            Visible probabilities ``(batch, n_visible)`` and hidden means
            ``(batch, n_hidden)``, in buffers the next call overwrites.
        """
        rows = hidden_sample.shape[0]
        neg_visible = self._buffers.get("visible", hidden_sample, rows, model.n_visible)
        neg_hidden = self._buffers.get("hidden_mean", hidden_sample, rows, model.n_hidden)
        hidden = hidden_sample
        for step in range(self.k):
            _visible_mean_into(model, hidden, neg_visible)
            if step + 1 < self.k:
                state = bernoulli_into(
                    neg_visible,
                    self._buffers.get("visible_state", hidden_sample, rows, model.n_visible),
                    generator,
                )
                _hidden_mean_into(model, state, neg_hidden)
                hidden = model._hidden_sample_into(
                    neg_hidden,
                    self._buffers.get("hidden_state", hidden_sample, rows, model.n_hidden),
                    generator,
                )
        _hidden_mean_into(model, neg_visible, neg_hidden)
        return NegativePhase(visible=neg_visible, hidden_mean=neg_hidden)

    def __repr__(self) -> str:
        return f"ContrastiveDivergence(k={self.k})"


class PersistentContrastiveDivergence(Sampler):
    """PCD: ``n_chains`` Gibbs chains that persist from one training step to the next.

    Each step advances every chain by ``k`` full Gibbs steps ``v -> h -> v`` with sampled
    states, and the negative statistics are the chains' binary visible states with their hidden
    means ``E[h | v]``. The chains start, on the first call, from Bernoulli draws of the first
    data batch (its first ``n_chains`` rows, repeated if the batch is smaller). Their state is
    part of :meth:`state_dict`, so a resumed run continues the same chains.

    Args:
        n_chains: number of persistent chains, ``>= 1``; need not equal the batch size.
        k: Gibbs steps per training step, ``>= 1``.

    Limitation: the chains are kept on the device and in the dtype of the first call; after
    moving the model, call :meth:`reset` or load a state converted to the new device.
    """

    def __init__(self, n_chains: int = 100, k: int = 1) -> None:
        self.n_chains = _check_positive("n_chains", n_chains, "n_chains=100")
        self.k = _check_positive("k", k, "k=1")
        self.chains: torch.Tensor | None = None
        """The visible states of the chains, ``(n_chains, n_visible)``, or ``None`` before use."""
        self._buffers = _Buffers()

    def reset(self) -> None:
        """Forget the chains; the next call starts new ones from its data batch."""
        self.chains = None

    @torch.no_grad()
    def negative_phase(
        self,
        model: RBM,
        visible: torch.Tensor,
        hidden_sample: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> NegativePhase:
        """Advance the persistent chains ``k`` steps; ``hidden_sample`` is not used.

        Returns:
            The chains' visible states ``(n_chains, n_visible)`` and hidden means
            ``(n_chains, n_hidden)``; the visible tensor is the chain state itself and the
            hidden one a buffer, both changed by the next call.
        """
        if self.chains is None:
            repeats = -(-self.n_chains // visible.shape[0])
            start = visible.repeat(repeats, 1)[: self.n_chains]
            self.chains = bernoulli_into(start, torch.empty_like(start), generator)
        chains = self.chains
        rows = self.n_chains
        hidden_mean = self._buffers.get("hidden_mean", chains, rows, model.n_hidden)
        hidden = self._buffers.get("hidden_state", chains, rows, model.n_hidden)
        visible_mean = self._buffers.get("visible_mean", chains, rows, model.n_visible)
        for _ in range(self.k):
            _hidden_mean_into(model, chains, hidden_mean)
            model._hidden_sample_into(hidden_mean, hidden, generator)
            _visible_mean_into(model, hidden, visible_mean)
            bernoulli_into(visible_mean, chains, generator)
        _hidden_mean_into(model, chains, hidden_mean)
        return NegativePhase(visible=chains, hidden_mean=hidden_mean)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{"chains": (n_chains, n_visible)}`` once the chains exist, else ``{}``."""
        return {} if self.chains is None else {"chains": self.chains.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the chains saved by :meth:`state_dict`."""
        unknown = set(state) - {"chains"}
        if unknown:
            raise ConfigError(
                f"PCD state has unknown keys {sorted(unknown)}; pass what state_dict() returned"
            )
        if "chains" not in state:
            self.chains = None
            return
        chains = state["chains"]
        if chains.ndim != 2 or chains.shape[0] != self.n_chains:
            raise ConfigError(
                f"PCD state holds chains of shape {tuple(chains.shape)}, but this sampler has "
                f"n_chains={self.n_chains}; build the sampler with the saved n_chains"
            )
        self.chains = chains.clone()

    def __repr__(self) -> str:
        return f"PersistentContrastiveDivergence(n_chains={self.n_chains}, k={self.k})"
