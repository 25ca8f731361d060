"""The hooks through which ebmzoo finds this plugin's models, stacker, data sets and recipes.

Recipes come from the ``*.toml`` files of the ``ebmzoo_recipes`` package whose ``pipeline``
key is :data:`PIPELINE`; each file's name (without ``.toml``) is the recipe's name. Besides
``pipeline`` and a one-line ``summary``, a file holds config sections (``[data]``,
``[model]``, ``[pretrain]``, ...) that override the defaults of
:class:`~ebmzoo_hinton2006.config.Hinton2006Config`.
"""

from __future__ import annotations

import importlib.resources
import logging
import tomllib
from pathlib import Path

from ebmzoo import hookimpl
from ebmzoo.errors import PluginError
from ebmzoo.records import DatasetEntry, ModelEntry, RecipeEntry, StackerEntry
from ebmzoo_hinton2006.autoencoder import DeepAutoencoder
from ebmzoo_hinton2006.config import Hinton2006Config
from ebmzoo_hinton2006.data import load_digits, load_mnist
from ebmzoo_hinton2006.pipeline import run
from ebmzoo_hinton2006.stacker import AutoencoderStacker

__all__ = ["PIPELINE", "read_recipes"]

PIPELINE = "hinton2006"
"""The value of ``pipeline`` in the recipe files this plugin runs."""

_META_KEYS = ("pipeline", "summary")

logger = logging.getLogger(__name__)


@hookimpl
def ebmzoo_models() -> list[ModelEntry]:
    return [
        ModelEntry(
            "deep-autoencoder",
            DeepAutoencoder,
            "Deep autoencoder with a linear code layer (Hinton & Salakhutdinov 2006)",
        )
    ]


@hookimpl
def ebmzoo_stackers() -> list[StackerEntry]:
    return [
        StackerEntry(
            "autoencoder",
            AutoencoderStacker,
            "Hidden means up the stack; unrolled into a deep autoencoder (Hinton 2006)",
        )
    ]


@hookimpl
def ebmzoo_datasets() -> list[DatasetEntry]:
    return [
        DatasetEntry("mnist", load_mnist, "MNIST handwritten digits, 28x28, 60000/10000"),
        DatasetEntry("digits", load_digits, "scikit-learn's bundled 8x8 digits, 1500/297"),
    ]


@hookimpl
def ebmzoo_recipes() -> list[RecipeEntry]:
    return read_recipes()


def read_recipes() -> list[RecipeEntry]:
    """One recipe per ``ebmzoo_recipes/*.toml`` file naming this plugin's pipeline."""
    entries = []
    folder = importlib.resources.files("ebmzoo_recipes")
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".toml"):
            continue
        try:
            document = tomllib.loads(item.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise PluginError(f"recipe file {item.name} is not valid TOML: {err}") from None
        if document.get("pipeline") != PIPELINE:
            continue
        defaults = {k: v for k, v in document.items() if k not in _META_KEYS}
        entries.append(
            RecipeEntry(
                name=item.name.removesuffix(".toml"),
                config_type=Hinton2006Config,
                defaults=defaults,
                run=run,
                summary=str(document.get("summary", "")),
                source=Path(str(item)),
            )
        )
    return entries


ZOO_FOLDER = "zoo"
"""Folder of this package holding the first-party zoo entries (JSON + safetensors)."""


@hookimpl
def ebmzoo_zoo_entries() -> list:
    """The MNIST autoencoders trained by this plugin's own recipes, shipped with the package."""
    from ebmzoo.errors import ZooError
    from ebmzoo.zoo import ZooEntry

    folder = importlib.resources.files("ebmzoo_hinton2006") / ZOO_FOLDER
    if not folder.is_dir():
        return []
    entries = []
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".json"):
            continue
        # One damaged entry file must not take the plugin's models and recipes down with it.
        try:
            entries.append(ZooEntry.from_json_file(Path(str(item))))
        except ZooError as err:
            logger.error("zoo entry %s is unusable: %s", item.name, err)
    return entries
