"""Exact log Z, AIS and likelihoods, each against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ebmzoo_rbm.evaluation import (
    ais_log_partition,
    beta_schedule,
    exact_log_partition,
    log_likelihood,
    pseudo_log_likelihood,
)
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM
from ebmzoo_rbm.samplers import ContrastiveDivergence
from ebmzoo_rbm.training import RBMTrainer, TrainConfig

from ebmzoo.errors import ConfigError

from .rbm_helpers import DEVICES, all_binary, energy_np, generator_on, logsumexp, tiny_rbm


def brute_force_log_z(model) -> float:
    """``log sum_{v, h} exp(-E(v, h))`` over every joint binary state."""
    vs = all_binary(model.n_visible).numpy()
    hs = all_binary(model.n_hidden).numpy()
    v = np.repeat(vs, len(hs), axis=0)
    h = np.tile(hs, (len(vs), 1))
    return logsumexp(-energy_np(model, v, h))


@pytest.mark.parametrize(("n_visible", "n_hidden"), [(5, 3), (3, 5)])
def test_exact_log_z_matches_the_joint_sum_whichever_side_is_enumerated(n_visible, n_hidden):
    model = tiny_rbm(n_visible=n_visible, n_hidden=n_hidden)
    assert exact_log_partition(model) == pytest.approx(brute_force_log_z(model), abs=1e-9)


def test_exact_log_z_of_the_gaussian_rbm_matches_numerical_integration():
    model = tiny_rbm(GaussianHiddenRBM, n_visible=4, n_hidden=1, std=0.7)
    # log Z = log sum_v int exp(-E(v, h)) dh, the integral on a fine grid.
    grid = np.linspace(-15, 15, 6001)
    vs = all_binary(4).numpy()
    terms = [
        logsumexp(-energy_np(model, np.repeat(v[None], len(grid), 0), grid[:, None]))
        + math.log(grid[1] - grid[0])
        for v in vs
    ]
    assert exact_log_partition(model) == pytest.approx(logsumexp(np.array(terms)), abs=1e-8)


def test_exact_log_z_refuses_models_too_large_to_enumerate():
    with pytest.raises(ConfigError, match="2\\*\\*30"):
        exact_log_partition(BernoulliRBM(40, 30))


def test_log_likelihood_of_every_state_sums_to_one():
    model = tiny_rbm(GaussianHiddenRBM, n_visible=6, n_hidden=3)
    vs = all_binary(6)
    log_z = exact_log_partition(model)
    per_state = [log_likelihood(model, v[None], log_z) for v in vs]
    assert sum(math.exp(x) for x in per_state) == pytest.approx(1.0, abs=1e-9)
    assert log_likelihood(model, vs, log_z) == pytest.approx(np.mean(per_state), abs=1e-9)


def test_pseudo_log_likelihood_averages_to_the_exact_conditionals():
    model = tiny_rbm(n_visible=6, n_hidden=4)
    v = all_binary(6)[[3, 17, 42, 60]]
    # Exact: sum_i log p(v_i | v_-i), from free energies of the states with v_i flipped.
    exact = []
    for row in v:
        total = 0.0
        for i in range(6):
            flipped = row.clone()
            flipped[i] = 1 - flipped[i]
            gap = (model.free_energy(flipped[None]) - model.free_energy(row[None])).item()
            total += -math.log1p(math.exp(-gap))
        exact.append(total)
    generator = torch.Generator().manual_seed(13)
    estimates = [pseudo_log_likelihood(model, v.repeat(500, 1), generator) for _ in range(4)]
    assert np.mean(estimates) == pytest.approx(np.mean(exact), rel=0.02)


def test_beta_schedule_runs_from_zero_to_one_with_the_papers_spacing():
    betas = beta_schedule(14500)
    assert len(betas) == 14500 and betas[0] == 0 and betas[-1] == 1
    assert (betas.diff() > 0).all()
    assert int((betas < 0.5).sum()) == 500 and int((betas < 0.9).sum()) == 4500


@pytest.mark.parametrize(
    "model",
    [
        tiny_rbm(n_visible=20, n_hidden=12, std=1.0, seed=20),
        tiny_rbm(GaussianHiddenRBM, n_visible=16, n_hidden=10, std=0.6, seed=21),
    ],
    ids=["bernoulli", "gaussian-hidden"],
)
@pytest.mark.parametrize("device", DEVICES)
def test_ais_agrees_with_exact_log_z_on_small_random_rbms(model, device):
    exact = exact_log_partition(model)
    estimate = ais_log_partition(
        model.to(device), n_chains=100, n_betas=3000, generator=generator_on(device, 14)
    )
    assert estimate.log_z == pytest.approx(exact, abs=0.1)
    assert 0 < estimate.log_z_std < 0.1


def bars_and_stripes(generator: torch.Generator) -> torch.Tensor:
    """Noisy 4x4 images of horizontal or vertical bars, flattened to ``(1000, 16)``."""
    lines = (torch.rand(1000, 4, generator=generator) < 0.5).float()
    vertical = torch.rand(1000, generator=generator) < 0.5
    images = torch.where(vertical[:, None, None], lines[:, None, :], lines[:, :, None])
    images = images.expand(1000, 4, 4).reshape(1000, 16)
    noise = torch.rand(1000, 16, generator=generator) < 0.05
    return torch.where(noise, 1 - images, images)


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianHiddenRBM])
def test_ais_agrees_with_exact_log_z_on_a_trained_rbm(cls):
    generator = torch.Generator().manual_seed(15)
    data = bars_and_stripes(generator)
    model = cls(16, 12, dtype="float64", generator=generator)
    rate = 0.1 if cls is BernoulliRBM else 0.01
    trainer = RBMTrainer(
        model, ContrastiveDivergence(), TrainConfig(batch_size=20, learning_rate=rate), generator
    )
    for _ in range(30):
        stats = trainer.train_epoch(data.double())
    assert stats.reconstruction_error < 2.0

    exact = exact_log_partition(model)
    estimate = ais_log_partition(model, n_chains=100, n_betas=3000, generator=generator, data=data)
    assert estimate.log_z == pytest.approx(exact, abs=0.1)
    # Training made the model better than the base-rate model on its data.
    assert log_likelihood(model, data, exact) > -16 * math.log(2) + 2
