"""The base class of everything that can be saved, loaded and put in the zoo.

A ``Model`` is a ``torch.nn.Module`` that can rebuild itself from a JSON-able config. The
weights module stores that config in a safetensors file beside the tensors, so a file alone is
enough to rebuild the model through the registry. Energy models and the unrolled deep
autoencoder both derive from it.
"""

from __future__ import annotations

import abc
from typing import Any, Self

import torch

__all__ = ["Model"]


class Model(torch.nn.Module, abc.ABC):
    """A torch module that knows its own config.

    Subclasses take their config as keyword arguments of ``__init__`` and report the same
    values from :attr:`config`, so that ``type(m).from_config(m.config)`` builds an empty twin
    of ``m`` whose ``state_dict`` has the same keys, shapes and dtypes.
    """

    @property
    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this model; values are JSON-serialisable."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Build a model with fresh parameters from a config returned by :attr:`config`."""
        return cls(**config)
