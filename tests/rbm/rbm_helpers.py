"""Brute-force helpers of the RBM plugin tests: enumeration and tiny models."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from ebmzoo_rbm.models import BernoulliRBM


def all_binary(n: int) -> torch.Tensor:
    """Every binary vector of length ``n``, ``(2**n, n)``, float64, built by itertools."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def tiny_rbm(cls=BernoulliRBM, n_visible=6, n_hidden=4, std=1.0, seed=0):
    """A float64 RBM with large random weights and biases, so that errors would show."""
    generator = torch.Generator().manual_seed(seed)
    model = cls(n_visible, n_hidden, init_std=std, dtype="float64", generator=generator)
    with torch.no_grad():
        model.visible_bias.copy_(torch.randn(n_visible, generator=generator, dtype=torch.float64))
        model.hidden_bias.copy_(torch.randn(n_hidden, generator=generator, dtype=torch.float64))
    return model


def params(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, b, c)`` of a model as float64 numpy arrays."""
    return tuple(
        p.detach().cpu().double().numpy()
        for p in (model.weight, model.visible_bias, model.hidden_bias)
    )


def energy_np(model, v: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``E(v, h)`` written out with explicit sums, independent of the model's code."""
    w, b, c = params(model)
    gaussian = not model.hidden_is_binary
    out = np.empty(v.shape[0])
    for row in range(v.shape[0]):
        e = -sum(v[row, i] * b[i] for i in range(len(b)))
        e -= sum(h[row, j] * c[j] for j in range(len(c)))
        e -= sum(v[row, i] * w[i, j] * h[row, j] for i in range(len(b)) for j in range(len(c)))
        if gaussian:
            e += 0.5 * sum(h[row, j] ** 2 for j in range(len(c)))
        out[row] = e
    return out


def exact_visible_distribution(model) -> np.ndarray:
    """``p(v)`` over ``all_binary(n_visible)``, by summing ``exp(-E)`` over binary hiddens."""
    vs = all_binary(model.n_visible).numpy()
    hs = all_binary(model.n_hidden).numpy()
    log_p = np.array([logsumexp(-energy_np(model, np.repeat(v[None], len(hs), 0), hs)) for v in vs])
    return np.exp(log_p - logsumexp(log_p))


def logsumexp(x: np.ndarray) -> float:
    top = np.max(x)
    return float(top + np.log(np.sum(np.exp(x - top))))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
"""Devices the device-dependent tests run on: the CPU, and CUDA where there is a GPU."""


def generator_on(device: str, seed: int) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)
