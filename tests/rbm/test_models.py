"""The RBMs' energies, free energies and conditionals against brute-force computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM

from ebmzoo.errors import ConfigError, DataError

from .rbm_helpers import all_binary, energy_np, logsumexp, params, tiny_rbm


def test_energy_matches_the_written_out_formula(bernoulli_rbm, gaussian_rbm):
    generator = torch.Generator().manual_seed(1)
    for model in (bernoulli_rbm, gaussian_rbm):
        v = torch.rand(5, model.n_visible, generator=generator, dtype=torch.float64)
        h = torch.randn(5, model.n_hidden, generator=generator, dtype=torch.float64)
        np.testing.assert_allclose(
            model.energy(v, h).detach().numpy(), energy_np(model, v.numpy(), h.numpy())
        )


def test_free_energy_matches_enumeration_of_binary_hiddens(bernoulli_rbm):
    vs = all_binary(bernoulli_rbm.n_visible)
    hs = all_binary(bernoulli_rbm.n_hidden).numpy()
    expected = [
        -logsumexp(-energy_np(bernoulli_rbm, np.repeat(v[None], len(hs), 0), hs))
        for v in vs.numpy()
    ]
    np.testing.assert_allclose(bernoulli_rbm.free_energy(vs).detach().numpy(), expected)


def test_free_energy_of_real_valued_visibles_matches_enumeration(bernoulli_rbm):
    v = torch.rand(3, bernoulli_rbm.n_visible, generator=torch.Generator().manual_seed(2))
    v = v.double()
    hs = all_binary(bernoulli_rbm.n_hidden).numpy()
    expected = [
        -logsumexp(-energy_np(bernoulli_rbm, np.repeat(row[None], len(hs), 0), hs))
        for row in v.numpy()
    ]
    np.testing.assert_allclose(bernoulli_rbm.free_energy(v).detach().numpy(), expected)


def test_gaussian_free_energy_matches_numerical_integration(gaussian_rbm):
    # Integrate exp(-E(v, h)) over a fine 2-D grid of hidden values.
    grid = np.linspace(-12, 12, 801)
    step = grid[1] - grid[0]
    h1, h2 = np.meshgrid(grid, grid, indexing="ij")
    hs = np.stack([h1.ravel(), h2.ravel()], axis=1)
    w, b, c = params(gaussian_rbm)
    for v in all_binary(gaussian_rbm.n_visible)[::7].numpy():
        minus_energy = v @ b + hs @ c + (v @ w) @ hs.T - 0.5 * (hs**2).sum(1)
        expected = -(logsumexp(minus_energy) + 2 * math.log(step))
        got = gaussian_rbm.free_energy(torch.from_numpy(v[None])).item()
        assert got == pytest.approx(expected, abs=1e-8)


def test_hidden_mean_equals_the_exact_posterior(bernoulli_rbm):
    hs = all_binary(bernoulli_rbm.n_hidden).numpy()
    for v in all_binary(bernoulli_rbm.n_visible)[::5].numpy():
        minus_energy = -energy_np(bernoulli_rbm, np.repeat(v[None], len(hs), 0), hs)
        posterior = np.exp(minus_energy - logsumexp(minus_energy))
        got = bernoulli_rbm.hidden_mean(torch.from_numpy(v[None])).detach().numpy()[0]
        np.testing.assert_allclose(got, posterior @ hs)


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianHiddenRBM])
def test_visible_mean_equals_the_exact_posterior(cls):
    model = tiny_rbm(cls)
    vs = all_binary(model.n_visible).numpy()
    for h in torch.randn(4, model.n_hidden, generator=torch.Generator().manual_seed(3)).numpy():
        minus_energy = -energy_np(model, vs, np.repeat(h[None], len(vs), 0))
        posterior = np.exp(minus_energy - logsumexp(minus_energy))
        got = model.visible_mean(torch.from_numpy(h[None]).double()).detach().numpy()[0]
        np.testing.assert_allclose(got, posterior @ vs)


def test_gaussian_hidden_posterior_has_the_linear_mean_and_unit_variance(gaussian_rbm):
    v = all_binary(gaussian_rbm.n_visible)[[5, 40]]
    w, _, c = params(gaussian_rbm)
    expected_mean = c + v.numpy() @ w
    np.testing.assert_allclose(gaussian_rbm.hidden_mean(v).detach().numpy(), expected_mean)

    generator = torch.Generator().manual_seed(4)
    draws = torch.stack([gaussian_rbm.sample_hidden(v, generator)[1] for _ in range(4000)])
    np.testing.assert_allclose(draws.mean(0).numpy(), expected_mean, atol=0.06)
    np.testing.assert_allclose(draws.var(0).numpy(), 1.0, atol=0.08)


def test_bernoulli_samples_are_binary_with_the_right_frequency(bernoulli_rbm):
    v = all_binary(bernoulli_rbm.n_visible)[[9]].expand(20000, -1)
    mean, sample = bernoulli_rbm.sample_hidden(v, torch.Generator().manual_seed(5))
    assert set(sample.unique().tolist()) <= {0.0, 1.0}
    np.testing.assert_allclose(sample.mean(0).numpy(), mean[0].detach().numpy(), atol=0.015)


def test_config_rebuilds_a_twin_with_the_same_state_keys():
    model = GaussianHiddenRBM(7, 3, init_std=0.01, dtype="float64")
    twin = GaussianHiddenRBM.from_config(model.config)
    assert model.config == {"n_visible": 7, "n_hidden": 3, "init_std": 0.01, "dtype": "float64"}
    assert {k: (v.shape, v.dtype) for k, v in model.state_dict().items()} == {
        k: (v.shape, v.dtype) for k, v in twin.state_dict().items()
    }
    assert model.weight.shape == (7, 3)


def test_initialisation_follows_the_generator_and_the_paper():
    first = BernoulliRBM(784, 500, generator=torch.Generator().manual_seed(6))
    second = BernoulliRBM(784, 500, generator=torch.Generator().manual_seed(6))
    assert torch.equal(first.weight, second.weight)
    assert first.weight.dtype == torch.float32
    assert first.weight.std().item() == pytest.approx(0.1, rel=0.01)
    assert not first.visible_bias.any() and not first.hidden_bias.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_visible": 0, "n_hidden": 3}, "n_visible=0"),
        ({"n_visible": 3, "n_hidden": 2.5}, "n_hidden=2.5"),
        ({"n_visible": 3, "n_hidden": 2, "dtype": "float16"}, "dtype='float16'"),
        ({"n_visible": 3, "n_hidden": 2, "init_std": -1.0}, "init_std=-1.0"),
    ],
)
def test_bad_config_values_are_named_in_the_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BernoulliRBM(**kwargs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (torch.zeros(2, 5), r"shape \(2, 5\)"),
        (torch.full((2, 6), float("nan")), "NaN"),
        (torch.full((2, 6), 2.0), r"\[2, 2\]"),
        (torch.full((2, 6), -0.5), r"\[-0.5, -0.5\]"),
    ],
)
def test_bad_visible_data_is_rejected_by_gibbs(bernoulli_rbm, data, message):
    with pytest.raises(DataError, match=message):
        bernoulli_rbm.gibbs(data.double(), steps=1)


def test_gibbs_returns_visible_probabilities(bernoulli_rbm):
    start = torch.zeros(10, bernoulli_rbm.n_visible, dtype=torch.float64)
    out = bernoulli_rbm.gibbs(start, steps=3, generator=torch.Generator().manual_seed(7))
    assert out.shape == (10, bernoulli_rbm.n_visible)
    assert ((out > 0) & (out < 1)).all()
    with pytest.raises(ConfigError, match="steps=0"):
        bernoulli_rbm.gibbs(start, steps=0)
