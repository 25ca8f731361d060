"""The typed, frozen records that plugin hooks return.

Each hook in :mod:`ebmzoo.hookspecs` returns a list of one of these records. They carry a
registered name, a one-line summary, and the object the name stands for. The registry adds
which plugin each record came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from ebmzoo.datasets import Dataset, DatasetRequest
    from ebmzoo.model import Model
    from ebmzoo.recipes import RunContext
    from ebmzoo.sampling import Sampler
    from ebmzoo.stacking import Stacker

__all__ = [
    "CommandEntry",
    "DatasetEntry",
    "ModelEntry",
    "RecipeEntry",
    "SamplerEntry",
    "StackerEntry",
]


@dataclass(frozen=True)
class ModelEntry:
    """A model class registered by name."""

    name: str
    """Registered name, stored in weights files, e.g. ``"rbm-bernoulli"``."""

    factory: type[Model]
    """The class; ``factory.from_config(config)`` builds an instance."""

    summary: str
    """One line for ``ebmzoo list``, e.g. ``"Bernoulli-Bernoulli RBM"``."""


@dataclass(frozen=True)
class SamplerEntry:
    """A sampler registered by name."""

    name: str
    """Registered name, e.g. ``"cd"``."""

    factory: Callable[..., Sampler]
    """Called with keyword options (e.g. ``k=1``) to make a sampler."""

    summary: str
    """One line for ``ebmzoo list``."""


@dataclass(frozen=True)
class StackerEntry:
    """A stacking strategy registered by name."""

    name: str
    """Registered name, e.g. ``"autoencoder"``."""

    factory: Callable[..., Stacker]
    """Called with keyword options to make a stacker."""

    summary: str
    """One line for ``ebmzoo list``."""


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset provider registered by name."""

    name: str
    """Registered name, e.g. ``"mnist"``."""

    load: Callable[[DatasetRequest], Dataset]
    """Returns the split data set; raises :class:`~ebmzoo.errors.DataError` if unavailable."""

    summary: str
    """One line for ``ebmzoo list``."""


@dataclass(frozen=True)
class RecipeEntry:
    """A named pipeline with a typed config and defaults, run by ``ebmzoo run NAME``."""

    name: str
    """Registered name, e.g. ``"hinton2006-mnist-2d"``."""

    config_type: type
    """A dataclass type describing every config key and its type."""

    defaults: Mapping[str, Any]
    """Values (nested mappings) overriding the dataclass defaults for this recipe."""

    run: Callable[[Any, RunContext], Mapping[str, Any]]
    """Runs the recipe on a config instance; returns the metrics written to metrics.json."""

    summary: str
    """One line for ``ebmzoo list``."""

    source: Path | None = field(default=None)
    """The recipe file the defaults were read from, if any."""


@dataclass(frozen=True)
class CommandEntry:
    """A click command a plugin adds to the ``ebmzoo`` command line."""

    name: str
    """Subcommand name, e.g. ``"zoo"``."""

    command: click.Command
    """The click command or group."""
