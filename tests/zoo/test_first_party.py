"""The zoo entries that ship with ebmzoo: they load offline and their metrics are true.

Each first-party entry records the test metrics of the run that produced it; evaluating the
shipped weights on the real MNIST test set in ../shared/data must give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ebmzoo
from ebmzoo.datasets import DatasetRequest
from ebmzoo.registry import get_registry
from ebmzoo.zoo import Zoo

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIRST_PARTY = ["hinton2006-mnist-2d", "hinton2006-mnist-30d"]


@pytest.fixture(scope="module")
def mnist_test() -> torch.Tensor:
    if not (DATA_ROOT / "MNIST" / "raw").is_dir():
        pytest.skip(f"no MNIST in {DATA_ROOT}")
    dataset = get_registry().dataset("mnist").load(DatasetRequest(root=DATA_ROOT, download=False))
    return dataset.test_x


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_entry_reproduces_its_recorded_test_error(name, mnist_test, monkeypatch):
    # Offline and with an empty cache: the weights must come from the installed package.
    monkeypatch.setenv("EBMZOO_OFFLINE", "1")
    monkeypatch.setenv("EBMZOO_CACHE", "/nonexistent-ebmzoo-cache")
    entry = Zoo().get(name)
    assert entry.dataset == "mnist" and entry.dataset_licence.startswith("CC BY-SA 3.0")
    assert entry.recipe == name and entry.seed is not None

    model = ebmzoo.load_pretrained(name)
    code_size = entry.model_config["layer_sizes"][-1]
    with torch.no_grad():
        codes = model.encode(mnist_test)
        reconstruction = model.decode(codes)
    assert codes.shape == (len(mnist_test), code_size)

    squared = (reconstruction - mnist_test).double() ** 2
    assert squared.mean().item() == pytest.approx(entry.metrics["test_mse"], abs=1e-6)
    assert squared.sum(1).mean().item() == pytest.approx(
        entry.metrics["test_sse_per_image"], abs=784e-6
    )


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_files_verify_against_their_hashes(name, monkeypatch):
    monkeypatch.setenv("EBMZOO_OFFLINE", "1")
    checks = Zoo().verify(name)
    assert checks and all(check.status == "ok" for check in checks), checks
