"""The launcher behind ``ebmzoo run``: from a recipe name and overrides to a finished run.

It resolves the config (recipe defaults, then a ``--config`` file, then ``--set`` overrides),
makes a fresh run directory that never overwrites another run, records the resolved config
with its seed, sets up logging to the run's log file, and calls the recipe. ``--resume DIR``
reads the recorded config back and lets the recipe continue from its checkpoints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ebmzoo import config as cfg
from ebmzoo.errors import ConfigError, DataError
from ebmzoo.recipes import RunContext
from ebmzoo.records import RecipeEntry
from ebmzoo.registry import Registry

__all__ = ["ResolvedRun", "launch", "new_run_dir", "resolve"]

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
LOG_FILE = "log.txt"


@dataclasses.dataclass(frozen=True)
class ResolvedRun:
    """A recipe with its fully resolved config, ready to run."""

    recipe: RecipeEntry
    """The registered recipe."""

    config: Any
    """An instance of ``recipe.config_type``."""

    seed: int
    """The seed of the run."""

    data_root: str | None = None
    """``--data-root`` as given, recorded so that ``--resume`` reads the same data."""

    def to_json(self) -> dict[str, Any]:
        """What ``config.json`` records (and ``--print-config`` shows)."""
        from ebmzoo import __version__

        return {
            "recipe": self.recipe.name,
            "seed": self.seed,
            "data_root": self.data_root,
            "ebmzoo_version": __version__,
            "config": cfg.to_mapping(self.config),
        }


def resolve(
    registry: Registry,
    recipe: str,
    *,
    config_file: Path | None = None,
    overrides: Sequence[str] = (),
    seed: int | None = None,
) -> ResolvedRun:
    """Resolve a recipe name (or a recipe ``.toml`` file) and its overrides into a config."""
    values: dict[str, Any] = {}
    if recipe.endswith(".toml") or os.sep in recipe:
        # A user's recipe file names the registered recipe it starts from.
        file_values = cfg.load_toml(Path(recipe))
        base = file_values.pop("recipe", None)
        if not isinstance(base, str):
            raise ConfigError(
                f"recipe file {recipe!r} must name the recipe it builds on, e.g. "
                'recipe = "hinton2006-mnist-2d"'
            )
        file_seed = file_values.pop("seed", None)
        seed = seed if seed is not None else file_seed
        entry = registry.recipe(base)
        values = cfg.merge(dict(entry.defaults), file_values)
    else:
        entry = registry.recipe(recipe)
        values = dict(entry.defaults)

    if config_file is not None:
        file_values = cfg.load_toml(config_file)
        file_values.pop("recipe", None)
        file_seed = file_values.pop("seed", None)
        seed = seed if seed is not None else file_seed
        values = cfg.merge(values, file_values)
    for text in overrides:
        values = cfg.merge(values, cfg.parse_override(text, entry.config_type))

    config = cfg.build(entry.config_type, values)
    if seed is None:
        seed = 0
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}")
    return ResolvedRun(recipe=entry, config=config, seed=seed)


def resolve_resume(registry: Registry, run_dir: Path) -> ResolvedRun:
    """Read the resolved config recorded in an existing run directory."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"{str(run_dir)!r} is not an ebmzoo run directory (no {CONFIG_FILE}); pass the folder "
            "that `ebmzoo run` printed"
        )
    try:
        recorded = json.loads(path.read_text())
        name, seed, values = recorded["recipe"], recorded["seed"], recorded["config"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{str(path)!r} is damaged; start a new run instead") from None
    entry = registry.recipe(name)
    config = cfg.build(entry.config_type, values)
    return ResolvedRun(entry, config, seed, data_root=recorded.get("data_root"))


def new_run_dir(base: Path, recipe: str) -> Path:
    """Create and return a fresh folder ``base/RECIPE-YYYYmmdd-HHMMSS[-N]``; never reuse one."""
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"--out {str(base)!r} cannot hold run directories ({err.strerror}); pass a folder"
        ) from None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        candidate = base / f"{recipe}-{stamp}{suffix}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise ConfigError(
                f"cannot make a run directory in {str(base)!r} ({err.strerror}); pass another --out"
            ) from None
        return candidate
    raise ConfigError(f"cannot make a fresh run directory in {str(base)!r}; clean it up")


def check_data_root(data_root: Path | None) -> None:
    """Refuse a ``--data-root`` that is not a folder, before any run directory is made."""
    if data_root is not None and not data_root.is_dir():
        raise DataError(
            f"--data-root {str(data_root)!r} is not a folder; point it at the folder that holds "
            "MNIST/raw"
        )


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (recipes also pass generators)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """Turn ``--device`` into a torch device, refusing CUDA where there is none."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for, but CUDA is not available; use --device cpu"
        )
    return torch.device(name)


def launch(
    run: ResolvedRun,
    *,
    out_dir: Path,
    resume: bool,
    device: torch.device,
    data_root: Path | None,
    progress: bool,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, Any]:
    """Run a resolved recipe in ``out_dir``, recording config, log and metrics there."""
    check_data_root(data_root)
    ctx = RunContext(
        out_dir=out_dir,
        seed=run.seed,
        device=device,
        data_root=data_root,
        resume=resume,
        progress=progress,
        rank=rank,
        world_size=world_size,
    )
    if not resume:
        ctx.write_json(CONFIG_FILE, run.to_json())

    handler = None
    if ctx.is_main:
        handler = logging.FileHandler(out_dir / LOG_FILE)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
    try:
        logger.info(
            "%s recipe %s (seed %d) in %s",
            "resuming" if resume else "starting",
            run.recipe.name,
            run.seed,
            out_dir,
        )
        seed_everything(run.seed)
        metrics = dict(run.recipe.run(run.config, ctx))
        ctx.write_json(METRICS_FILE, metrics)
        logger.info("finished; metrics in %s", out_dir / METRICS_FILE)
        return metrics
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
