"""Fixtures of the RBM plugin tests."""

from __future__ import annotations

import pytest
import torch
from ebmzoo_rbm.models import BernoulliRBM, GaussianHiddenRBM

from .rbm_helpers import tiny_rbm


@pytest.fixture(autouse=True)
def _one_thread():
    # The test machine is shared; tiny tensors gain nothing from more threads.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def bernoulli_rbm() -> BernoulliRBM:
    return tiny_rbm(BernoulliRBM)


@pytest.fixture
def gaussian_rbm() -> GaussianHiddenRBM:
    return tiny_rbm(GaussianHiddenRBM, n_hidden=2, std=0.5)
