"""A tiny registered model and an in-process registry, shared by the core's tests."""

from __future__ import annotations

import pytest
import torch

from ebmzoo import hookimpl
from ebmzoo.model import Model
from ebmzoo.records import ModelEntry
from ebmzoo.registry import Registry


class TinyModel(Model):
    """A two-tensor model whose shapes follow its config."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.weight = torch.nn.Parameter(torch.randn(n_in, n_out))
        self.bias = torch.nn.Parameter(torch.randn(n_out))

    @property
    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out}


class TinyPlugin:
    @hookimpl
    def ebmzoo_models(self):
        return [ModelEntry("tiny", TinyModel, "a tiny test model")]


@pytest.fixture
def registry() -> Registry:
    return Registry(plugins={"tiny-plugin": TinyPlugin()})
