"""Hook specifications: the whole surface a plugin implements.

A plugin is a module (or object) named by an entry point in the ``ebmzoo`` group. It implements
any of these hooks with ``@ebmzoo.hookimpl``; each returns a list of records from
:mod:`ebmzoo.records`. First-party plugins register exactly this way.
"""

from __future__ import annotations

import pluggy

from ebmzoo.records import (
    CommandEntry,
    DatasetEntry,
    ModelEntry,
    RecipeEntry,
    SamplerEntry,
    StackerEntry,
)

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "ebmzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ebmzoo_models() -> list[ModelEntry]:
    """Models this plugin provides, e.g. ``[ModelEntry("rbm-bernoulli", BernoulliRBM, ...)]``."""


@hookspec
def ebmzoo_samplers() -> list[SamplerEntry]:
    """Samplers this plugin provides, e.g. CD-k and persistent CD."""


@hookspec
def ebmzoo_stackers() -> list[StackerEntry]:
    """Stacking strategies this plugin provides."""


@hookspec
def ebmzoo_datasets() -> list[DatasetEntry]:
    """Dataset providers this plugin provides."""


@hookspec
def ebmzoo_recipes() -> list[RecipeEntry]:
    """Recipes this plugin provides."""


@hookspec
def ebmzoo_commands() -> list[CommandEntry]:
    """Subcommands this plugin adds to the ``ebmzoo`` command line."""


@hookspec
def ebmzoo_zoo_entries() -> list:
    """Pretrained-weights entries (:class:`ebmzoo.zoo.ZooEntry`) this plugin publishes."""
