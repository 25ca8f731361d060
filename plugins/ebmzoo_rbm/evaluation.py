"""Partition functions and likelihoods of the RBMs: exact enumeration and AIS.

For small models :func:`exact_log_partition` sums over every state of the smaller binary side
and integrates the other side analytically. For models of realistic size
:func:`ais_log_partition` estimates ``log Z`` by annealed importance sampling from a model with
no weights (Salakhutdinov & Murray, 2008). :func:`log_likelihood` turns either into the average
log-likelihood of data in nats per image, and :func:`pseudo_log_likelihood` gives the cheap
stochastic proxy the trainer monitors.

References:
    R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief networks",
    ICML 2008, section 3.
    J. Besag, "Statistical analysis of non-lattice data", The Statistician 24 (1975), 179-195.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ebmzoo.errors import ConfigError
from ebmzoo_rbm.models import RBM, bernoulli_into

__all__ = [
    "AISEstimate",
    "MAX_ENUMERATED_UNITS",
    "ais_log_partition",
    "beta_schedule",
    "exact_log_partition",
    "log_likelihood",
    "pseudo_log_likelihood",
    "pseudo_log_likelihood_given",
]

MAX_ENUMERATED_UNITS = 24
"""The largest side :func:`exact_log_partition` enumerates (``2**24`` states)."""

_CHUNK = 1 << 14


class AISEstimate(NamedTuple):
    """The result of :func:`ais_log_partition`; unpacks as ``log_z, log_z_std``."""

    log_z: float
    """The estimate of ``log Z``: ``log Z_base + log mean(w)`` over the runs."""

    log_z_std: float
    """Standard error of :attr:`log_z` by the delta method, ``std(w) / (sqrt(M) mean(w))``.

    Limitation: it is itself estimated from the same weights, so it is too small when the
    weights are heavy-tailed (too few intermediate distributions); treat it as a sanity check.
    """


def _float64(model: RBM) -> RBM:
    return copy.deepcopy(model).to(torch.float64) if model.weight.dtype != torch.float64 else model


def _all_states(start: int, stop: int, n_units: int, like: torch.Tensor) -> torch.Tensor:
    """Rows ``start..stop-1`` of the binary counting table over ``n_units``, ``(rows, n_units)``."""
    codes = torch.arange(start, stop, device=like.device)
    bits = torch.arange(n_units, device=like.device)
    return ((codes[:, None] >> bits) & 1).to(like.dtype)


@torch.no_grad()
def exact_log_partition(model: RBM) -> float:
    """``log Z`` by summing over all states of the smaller binary side.

    The hidden side is enumerated when hidden units are binary and no more numerous than
    visible ones; otherwise the visible side is, integrating the hidden units analytically
    (which is how the Gaussian-hidden RBM is handled). Computed in float64.

    Raises:
        ConfigError: the side to enumerate has more than :data:`MAX_ENUMERATED_UNITS` units.
    """
    model = _float64(model)
    if model.hidden_is_binary and model.n_hidden <= model.n_visible:
        n_units, free_energy = model.n_hidden, model.hidden_free_energy
    else:
        n_units, free_energy = model.n_visible, model.free_energy
    if n_units > MAX_ENUMERATED_UNITS:
        raise ConfigError(
            f"exact log Z would enumerate 2**{n_units} states; it handles up to "
            f"{MAX_ENUMERATED_UNITS} units on the smaller side, use ais_log_partition instead"
        )
    total = 1 << n_units
    terms = [
        torch.logsumexp(
            -free_energy(_all_states(start, min(start + _CHUNK, total), n_units, model.weight)), 0
        )
        for start in range(0, total, _CHUNK)
    ]
    return torch.logsumexp(torch.stack(terms), 0).item()


def beta_schedule(n_betas: int) -> torch.Tensor:
    """Inverse temperatures from 0 to 1, ``(n_betas,)``, float64.

    Spaced as in Salakhutdinov & Murray (2008): 500, 4,000 and 10,000 of their 14,500 values
    uniformly in ``[0, 0.5)``, ``[0.5, 0.9)`` and ``[0.9, 1]``, scaled to ``n_betas``.
    """
    if n_betas < 3:
        raise ConfigError(f"n_betas={n_betas!r} is too small; pass at least 3, e.g. 10000")
    first = max(1, round(n_betas * 500 / 14500))
    second = max(1, round(n_betas * 4000 / 14500))
    third = n_betas - first - second
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, first + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.5, 0.9, second + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.9, 1.0, third, dtype=torch.float64),
        ]
    )


def _base_visible_bias(model: RBM, data: torch.Tensor | None) -> torch.Tensor:
    """Visible biases of the base model: the data's pixel log-odds, or zeros."""
    if data is None:
        return torch.zeros(model.n_visible, dtype=torch.float64, device=model.weight.device)
    model.validate_visible(data)
    # Smoothed pixel means, so that pixels that are always 0 or 1 get finite log-odds.
    mean = (data.to(torch.float64).sum(0) + 0.05) / (data.shape[0] + 0.1)
    return torch.logit(mean).to(model.weight.device)


@torch.no_grad()
def ais_log_partition(
    model: RBM,
    n_chains: int = 100,
    n_betas: int = 14500,
    generator: torch.Generator | None = None,
    data: torch.Tensor | None = None,
) -> AISEstimate:
    """Estimate ``log Z`` by annealed importance sampling (Salakhutdinov & Murray, 2008).

    The runs anneal from a base model with no weights and no hidden biases, whose visible
    biases are the log-odds of the pixel means of ``data`` (or zero), through the
    distributions ``p_beta(v) ~ exp((1 - beta) v.a + beta (v.b + ...)) `` whose weights and
    hidden biases are scaled by ``beta``, to the model at ``beta = 1``. Each transition is one
    Gibbs step ``v -> h -> v`` at the current ``beta``.

    Args:
        model: the RBM; chains run in its dtype and on its device, weights accumulate in float64.
        n_chains: number of independent AIS runs ``M``.
        n_betas: number of inverse temperatures, see :func:`beta_schedule`.
        generator: source of randomness, on the model's device.
        data: optional training data ``(n, n_visible)`` for the base model (recommended: the
            estimate's variance falls a lot).

    Returns:
        ``(log_z, log_z_std)`` as an :class:`AISEstimate`.
    """
    if n_chains < 1:
        raise ConfigError(f"n_chains={n_chains!r} must be at least 1, e.g. 100")
    betas = beta_schedule(n_betas).tolist()
    weight, visible_bias, hidden_bias = model.weight, model.visible_bias, model.hidden_bias
    base_bias = _base_visible_bias(model, data)
    base_bias_model = base_bias.to(weight.dtype)
    base_bias64 = base_bias
    target_bias64 = visible_bias.to(torch.float64)

    zeros = torch.zeros(1, model.n_hidden, dtype=torch.float64, device=weight.device)
    log_z_base = F.softplus(base_bias).sum().item() + model._hidden_log_partition(zeros).item()

    def log_unnormalised(beta: float, visible64: torch.Tensor, act64: torch.Tensor):
        """``log p*_beta(v)`` of the annealed marginal, ``(n_chains,)``."""
        return (
            (1 - beta) * (visible64 @ base_bias64)
            + beta * (visible64 @ target_bias64)
            + model._hidden_log_partition(beta * act64)
        )

    # An exact draw from the base model, then one importance step and transition per beta.
    probability = torch.sigmoid(base_bias_model).expand(n_chains, -1).contiguous()
    visible = bernoulli_into(probability, torch.empty_like(probability), generator)
    log_w = torch.zeros(n_chains, dtype=torch.float64, device=weight.device)
    hidden = torch.empty(n_chains, model.n_hidden, dtype=weight.dtype, device=weight.device)
    for previous, beta in zip(betas[:-1], betas[1:], strict=True):
        act = torch.addmm(hidden_bias, visible, weight)
        visible64, act64 = visible.to(torch.float64), act.to(torch.float64)
        log_w += log_unnormalised(beta, visible64, act64)
        log_w -= log_unnormalised(previous, visible64, act64)
        if beta == betas[-1]:
            break
        mean = model._hidden_mean_(act.mul_(beta))
        model._hidden_sample_into(mean, hidden, generator)
        torch.addmm(visible_bias, hidden, weight.T, beta=beta, alpha=beta, out=probability)
        probability.add_(base_bias_model, alpha=1 - beta).sigmoid_()
        bernoulli_into(probability, visible, generator)

    log_mean_w = (torch.logsumexp(log_w, 0) - math.log(n_chains)).item()
    scaled = torch.exp(log_w - log_w.max())
    relative_std = (scaled.std(unbiased=True) / scaled.mean()).item() if n_chains > 1 else math.inf
    return AISEstimate(log_z_base + log_mean_w, relative_std / math.sqrt(n_chains))


@torch.no_grad()
def log_likelihood(model: RBM, data: torch.Tensor, log_z: float) -> float:
    """Average ``log p(v) = -F(v) - log Z`` of ``data`` ``(n, n_visible)``, in nats per image.

    Limitation: for real-valued data in ``[0, 1]`` this evaluates the formula at non-binary
    points, which is not a log-probability; binarise test data (e.g. ``data > 0.5`` or a fixed
    Bernoulli draw) to report a proper likelihood.
    """
    model.validate_visible(data)
    data = data.to(device=model.weight.device, dtype=model.weight.dtype)
    total = sum(
        (-model.free_energy(chunk)).to(torch.float64).sum().item() for chunk in data.split(_CHUNK)
    )
    return total / data.shape[0] - log_z


@torch.no_grad()
def pseudo_log_likelihood(
    model: RBM, data: torch.Tensor, generator: torch.Generator | None = None
) -> float:
    """Stochastic pseudo-log-likelihood of ``data`` ``(n, n_visible)``, nats per image.

    For each row one visible unit ``i`` is drawn at random and
    ``n_visible * log p(v_i | v_-i) = n_visible * log sigmoid(F(v with v_i flipped) - F(v))``
    is returned, averaged over rows: an unbiased estimate of Besag's pseudo-log-likelihood for
    binary data. Real values are flipped as ``v_i -> 1 - v_i``.
    """
    data = data.to(device=model.weight.device, dtype=model.weight.dtype)
    return pseudo_log_likelihood_given(model, data, model.free_energy(data), generator)


def pseudo_log_likelihood_given(
    model: RBM,
    data: torch.Tensor,
    free_energy: torch.Tensor,
    generator: torch.Generator | None = None,
) -> float:
    """:func:`pseudo_log_likelihood` of ``data`` whose free energies ``(n,)`` are known.

    ``data`` must already be on the model's device and in its dtype.
    """
    rows = torch.arange(data.shape[0], device=data.device)
    units = torch.randint(
        model.n_visible, (data.shape[0],), generator=generator, device=data.device
    )
    flipped = data.clone()
    flipped[rows, units] = 1 - flipped[rows, units]
    gap = model.free_energy(flipped) - free_energy
    return (model.n_visible * F.logsigmoid(gap)).mean().item()
