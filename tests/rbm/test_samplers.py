"""CD-k and PCD chains against the exact distribution of tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ebmzoo_rbm.samplers import ContrastiveDivergence, PersistentContrastiveDivergence

from ebmzoo.errors import ConfigError

from .rbm_helpers import exact_visible_distribution, tiny_rbm


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))


def empirical_distribution(states: torch.Tensor) -> np.ndarray:
    """Frequencies of binary rows, indexed like ``all_binary`` (first unit most significant)."""
    n = states.shape[1]
    codes = (states.long() * (2 ** torch.arange(n - 1, -1, -1))).sum(1)
    return np.bincount(codes.numpy(), minlength=2**n) / codes.numel()


def test_long_pcd_chains_reach_the_exact_model_distribution():
    model = tiny_rbm(n_visible=6, n_hidden=4, std=1.0)
    exact = exact_visible_distribution(model)
    sampler = PersistentContrastiveDivergence(n_chains=500, k=1)
    generator = torch.Generator().manual_seed(10)
    start = torch.zeros(500, 6, dtype=torch.float64)

    states = []
    for step in range(400):
        negative = sampler.negative_phase(model, start, start[:, :4], generator)
        if step >= 100:
            states.append(negative.visible.clone())
    empirical = empirical_distribution(torch.cat(states))

    assert kl_divergence(exact, empirical) < 0.01
    # The chains' hidden statistics are the exact conditional means of their states.
    torch.testing.assert_close(negative.hidden_mean, model.hidden_mean(negative.visible))


def test_pcd_state_round_trips_and_continues_the_same_chains():
    model = tiny_rbm(n_visible=6, n_hidden=4)
    data = torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sampler = PersistentContrastiveDivergence(n_chains=5, k=3)
    generator = torch.Generator().manual_seed(11)
    assert sampler.state_dict() == {}
    sampler.negative_phase(model, data, data[:, :4], generator)
    state = sampler.state_dict()
    assert state["chains"].shape == (5, 6)

    twin = PersistentContrastiveDivergence(n_chains=5, k=3)
    twin.load_state_dict(state)
    twin_generator = torch.Generator()
    twin_generator.set_state(generator.get_state())
    a = sampler.negative_phase(model, data, data[:, :4], generator).visible.clone()
    b = twin.negative_phase(model, data, data[:, :4], twin_generator).visible
    assert torch.equal(a, b)

    with pytest.raises(ConfigError, match="n_chains=7"):
        PersistentContrastiveDivergence(n_chains=7).load_state_dict(state)


def test_cd1_negative_phase_is_the_reconstruction_from_the_sampled_hiddens():
    model = tiny_rbm(n_visible=6, n_hidden=4)
    data = torch.rand(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    hidden = torch.tensor([[1.0, 0, 0, 1], [0, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.float64)
    negative = ContrastiveDivergence(k=1).negative_phase(model, data, hidden)
    torch.testing.assert_close(negative.visible, model.visible_mean(hidden))
    torch.testing.assert_close(negative.hidden_mean, model.hidden_mean(model.visible_mean(hidden)))


def test_long_cd_k_chains_from_one_state_reach_the_exact_distribution():
    model = tiny_rbm(n_visible=5, n_hidden=3, std=1.0, seed=4)
    exact = exact_visible_distribution(model)
    generator = torch.Generator().manual_seed(12)
    hidden = torch.zeros(20000, 3, dtype=torch.float64)
    negative = ContrastiveDivergence(k=30).negative_phase(model, None, hidden, generator)
    # The last visible vector is a vector of probabilities: average them over chains.
    probabilities = negative.visible
    bits = torch.tensor(
        [[(code >> (4 - i)) & 1 for i in range(5)] for code in range(32)], dtype=torch.float64
    )
    mixture = torch.exp(
        bits @ torch.log(probabilities).T + (1 - bits) @ torch.log1p(-probabilities).T
    ).mean(1)
    assert kl_divergence(exact, mixture.numpy()) < 0.005


@pytest.mark.parametrize(
    "make", [lambda: ContrastiveDivergence(k=0), lambda: PersistentContrastiveDivergence(0)]
)
def test_bad_sampler_options_are_named_in_the_error(make):
    with pytest.raises(ConfigError, match="=0"):
        make()
