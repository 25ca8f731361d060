"""Checks a plugin author runs on their own models and samplers.

Each check raises ``AssertionError`` with a message saying what is wrong, so they read well
inside pytest::

    from ebmzoo import testing

    def test_my_rbm_obeys_the_contract(tmp_path):
        testing.check_energy_model(MyRBM(n_visible=6, n_hidden=4))
        testing.check_save_load_round_trip(MyRBM(n_visible=6, n_hidden=4), tmp_path)

The free-energy check enumerates hidden states, so it needs at most 16 hidden units taking
values in {0, 1} or {-1, +1}. Limitation: models with real-valued hidden units are checked for
shapes, dtypes and finiteness only; test their free energy against your own integral.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from ebmzoo.energy import EnergyModel
from ebmzoo.model import Model
from ebmzoo.sampling import Sampler

__all__ = [
    "check_energy_model",
    "check_sampler",
    "check_save_load_round_trip",
    "enumerate_binary",
]


def enumerate_binary(n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Every binary vector of length ``n``, as rows of a ``(2**n, n)`` tensor."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=dtype)


def check_energy_model(model: EnergyModel, *, batch: int = 5, seed: int = 0) -> None:
    """Check shapes, dtypes, sample ranges, and free energy against the energy.

    Visible test data are random binary vectors; the model is used as built.
    """
    generator = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    v = (torch.rand(batch, model.n_visible, generator=generator) < 0.5).to(dtype)

    h_mean, h = model.sample_hidden(v, generator)
    assert h_mean.shape == (batch, model.n_hidden), f"hidden mean has shape {tuple(h_mean.shape)}"
    assert h.shape == (batch, model.n_hidden), f"hidden sample has shape {tuple(h.shape)}"
    assert h_mean.dtype == dtype and h.dtype == dtype, "hidden tensors change dtype"
    assert torch.allclose(h_mean, model.hidden_mean(v)), "sample_hidden's mean != hidden_mean"

    v_mean, v_sample = model.sample_visible(h, generator)
    assert v_mean.shape == (batch, model.n_visible), f"visible mean has shape {tuple(v_mean.shape)}"
    assert v_sample.shape == (batch, model.n_visible), "visible sample has the wrong shape"
    assert v_mean.dtype == dtype and v_sample.dtype == dtype, "visible tensors change dtype"
    assert torch.allclose(v_mean, model.visible_mean(h)), "sample_visible's mean != visible_mean"

    energy = model.energy(v, h)
    free = model.free_energy(v)
    assert energy.shape == (batch,), f"energy has shape {tuple(energy.shape)}, want ({batch},)"
    assert free.shape == (batch,), f"free energy has shape {tuple(free.shape)}, want ({batch},)"
    assert torch.isfinite(energy).all() and torch.isfinite(free).all(), "non-finite energies"

    support = _two_point_support(h)
    if support is not None and model.n_hidden <= 16:
        low, high = support
        states = low + (high - low) * enumerate_binary(model.n_hidden, dtype=torch.float64)
        model64 = _as_float64(model)
        v64 = v.to(torch.float64)
        # F(v) = -log sum_h exp(-E(v, h)), summed over every hidden configuration.
        energies = torch.stack([model64.energy(v64, s.expand(batch, -1)) for s in states], dim=1)
        expected = -torch.logsumexp(-energies, dim=1)
        got = model64.free_energy(v64)
        assert torch.allclose(got, expected, atol=1e-8), (
            f"free energy {got.tolist()} differs from -log sum_h exp(-E) {expected.tolist()}"
        )


def check_sampler(sampler: Sampler, model: EnergyModel, *, batch: int = 4, seed: int = 0) -> None:
    """Check a sampler's negative phase shapes and that its state survives a round trip."""
    generator = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    v = (torch.rand(batch, model.n_visible, generator=generator) < 0.5).to(dtype)
    _, h = model.sample_hidden(v, generator)
    neg = sampler.negative_phase(model, v, h, generator)
    assert neg.visible.ndim == 2 and neg.visible.shape[1] == model.n_visible, (
        f"negative visible has shape {tuple(neg.visible.shape)}"
    )
    assert neg.hidden_mean.shape == (neg.visible.shape[0], model.n_hidden), (
        f"negative hidden mean has shape {tuple(neg.hidden_mean.shape)}"
    )
    state = sampler.state_dict()
    sampler.load_state_dict({k: t.clone() for k, t in state.items()})
    again = sampler.state_dict()
    assert state.keys() == again.keys(), "sampler state keys change over a round trip"
    for key in state:
        assert torch.equal(state[key], again[key]), f"sampler state {key!r} changes on reload"


def check_save_load_round_trip(model: Model, folder: Path, *, registry=None) -> Model:
    """Save ``model`` with :func:`ebmzoo.weights.save_model`, load it back, compare exactly.

    Returns the loaded model.
    """
    from ebmzoo.weights import load_model, save_model

    path = save_model(model, Path(folder) / "round-trip.safetensors", registry=registry)
    loaded = load_model(path, registry=registry)
    assert type(loaded) is type(model), f"loaded a {type(loaded).__name__}"
    assert loaded.config == model.config, f"config {loaded.config} != {model.config}"
    original, again = model.state_dict(), loaded.state_dict()
    assert original.keys() == again.keys(), "tensor names change over a round trip"
    for key in original:
        assert original[key].dtype == again[key].dtype, f"{key} changes dtype"
        assert torch.equal(original[key].cpu(), again[key].cpu()), f"{key} changes value"
    return loaded


def _two_point_support(hidden: torch.Tensor) -> tuple[float, float] | None:
    """``(0, 1)`` for binary units, ``(-1, 1)`` for spins, None for anything else."""
    for low, high in ((0.0, 1.0), (-1.0, 1.0)):
        if bool(((hidden == low) | (hidden == high)).all()):
            return low, high
    return None


def _as_float64(model: EnergyModel) -> EnergyModel:
    twin = type(model).from_config(model.config)
    twin.load_state_dict(model.state_dict())
    return twin.to(torch.float64)
