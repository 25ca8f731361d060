"""The plugin registers its models and samplers, and they pass the core's contract checks."""

from __future__ import annotations

import pytest
import torch
from ebmzoo_rbm import plugin
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM
from ebmzoo_rbm.samplers import ContrastiveDivergence, PersistentContrastiveDivergence

from ebmzoo import testing
from ebmzoo.registry import Registry


@pytest.fixture
def registry() -> Registry:
    return Registry({"rbm": plugin})


def test_plugin_registers_the_models_and_samplers_by_name(registry):
    assert registry.model("rbm-bernoulli").factory is BernoulliRBM
    assert registry.model("rbm-bernoulli-gaussian").factory is GaussianHiddenRBM
    assert isinstance(registry.sampler("cd").factory(k=2), ContrastiveDivergence)
    assert isinstance(registry.sampler("pcd").factory(n_chains=10), PersistentContrastiveDivergence)


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianHiddenRBM])
def test_models_obey_the_energy_model_contract(cls, tmp_path, registry):
    model = cls(7, 4, generator=torch.Generator().manual_seed(0))
    testing.check_energy_model(model)
    testing.check_save_load_round_trip(model, tmp_path, registry=registry)


@pytest.mark.parametrize(
    "make", [ContrastiveDivergence, lambda: PersistentContrastiveDivergence(3)]
)
def test_samplers_obey_the_sampler_contract(make):
    testing.check_sampler(make(), BernoulliRBM(7, 4))
