"""A tiny registered model, a finished run directory of it, and a local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from ebmzoo import hookimpl
from ebmzoo.energy import EnergyModel
from ebmzoo.model import Model
from ebmzoo.records import ModelEntry
from ebmzoo.registry import Registry
from ebmzoo.weights import save_model
from ebmzoo.zoo import Zoo


class TinyAutoencoder(Model):
    """A one-layer autoencoder: ``encode`` then ``decode``, float32 weights and an int buffer."""

    def __init__(self, n_visible: int, n_code: int) -> None:
        super().__init__()
        self.n_visible, self.n_code = n_visible, n_code
        self.weight = torch.nn.Parameter(torch.randn(n_visible, n_code))
        self.bias = torch.nn.Parameter(torch.randn(n_visible))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    @property
    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_code": self.n_code}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(code @ self.weight.T + self.bias)


class TinyRBM(EnergyModel):
    """A small Bernoulli RBM, here so that ``publish`` can tell an RBM from the autoencoder."""

    def __init__(self, n_visible: int, n_hidden: int) -> None:
        super().__init__()
        self._n_visible, self._n_hidden = n_visible, n_hidden
        self.weight = torch.nn.Parameter(0.1 * torch.randn(n_visible, n_hidden))

    @property
    def config(self) -> dict:
        return {"n_visible": self._n_visible, "n_hidden": self._n_hidden}

    @property
    def n_visible(self) -> int:
        return self._n_visible

    @property
    def n_hidden(self) -> int:
        return self._n_hidden

    def energy(self, visible, hidden):
        return -((visible @ self.weight) * hidden).sum(-1)

    def free_energy(self, visible):
        return -torch.nn.functional.softplus(visible @ self.weight).sum(-1)

    def hidden_mean(self, visible):
        return torch.sigmoid(visible @ self.weight)

    def visible_mean(self, hidden):
        return torch.sigmoid(hidden @ self.weight.T)

    def sample_hidden(self, visible, generator=None):
        mean = self.hidden_mean(visible)
        return mean, torch.bernoulli(mean, generator=generator)

    def sample_visible(self, hidden, generator=None):
        mean = self.visible_mean(hidden)
        return mean, torch.bernoulli(mean, generator=generator)


class TinyPlugin:
    @hookimpl
    def ebmzoo_models(self):
        return [
            ModelEntry("tiny-autoencoder", TinyAutoencoder, "a tiny test autoencoder"),
            ModelEntry("rbm-tiny", TinyRBM, "a tiny test RBM"),
        ]


@pytest.fixture
def registry() -> Registry:
    return Registry(plugins={"tiny-plugin": TinyPlugin()})


@pytest.fixture
def zoo(registry, tmp_path) -> Zoo:
    """A zoo with its own user folder and cache, never touching the network by default."""
    return Zoo(registry=registry, user_dir=tmp_path / "zoo", cache=tmp_path / "cache")


METRICS = {
    "pretrained": {"test_mse": 0.031, "test_sse_per_image": 24.3, "seconds": {"finetune": 1.5}},
    "pca": {"test_mse": 0.05, "test_sse_per_image": 39.2},
    "run": {"dataset": "mnist", "n_test": 10},
}


def make_run(folder: Path, registry: Registry, *, with_rbm: bool = True) -> TinyAutoencoder:
    """A finished run directory as `ebmzoo run` leaves it; returns the published model."""
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    model = TinyAutoencoder(6, 2)
    model.steps.fill_(7)
    save_model(
        model,
        folder / "autoencoder-pretrained.safetensors",
        registry=registry,
        metadata={"dataset": "mnist"},
    )
    if with_rbm:
        save_model(TinyRBM(6, 3), folder / "rbm1.safetensors", registry=registry)
    config = {
        "recipe": "tiny-recipe",
        "seed": 3,
        "ebmzoo_version": "0.1.0",
        "config": {"model": {"layer_sizes": [6, 2]}, "finetune": {"epochs": 1}},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text(json.dumps(METRICS))
    (folder / "log.txt").write_text("finished\n")
    return model


@dataclass
class Server:
    """A static file server on 127.0.0.1 that records every path requested."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):  # noqa: N802 - the standard library's name
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
